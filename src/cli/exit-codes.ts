// herd's exit codes: documented in the README; scripts depend on them.
export const EXIT_OK = 0;
export const EXIT_HOSTS_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;
