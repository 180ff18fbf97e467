// Pure builders for the exact text sent to a host's sshd. No I/O.

/** Quote a string for POSIX sh as one word. */
export function shellQuote(text: string): string {
  if (text !== '' && /^[A-Za-z0-9_/.,:=@%+-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Environment tag name that marks every process of one herd command on a host. */
export const JOB_TAG_VARIABLE = 'HERD_JOB';

/**
 * How a login shell is asked to run a command: `portable` works in every login shell (sh, bash, zsh, ksh, csh,
 * tcsh, fish); `posix` (an assignment before exec, no `env`) only in one that speaks POSIX sh, as a probe over the
 * same connection showed (exec.ts probeLoginShell): one program fewer started on the host for every command.
 */
export type WrapperForm = 'portable' | 'posix';

/**
 * Run the user's command under /bin/sh with a unique tag in its environment. The tag is inherited
 * by every child, which is how a timeout finds and kills the whole remote process tree later,
 * whatever the login shell is and even when the command forked into the background.
 */
export function buildRemoteCommand(
  command: string,
  tag: string,
  become?: BecomeSpec,
  form: WrapperForm = 'portable',
): string {
  // sudo resets the environment: through sudo the tag is set by env, after it.
  if (form === 'posix' && !become) return `${JOB_TAG_VARIABLE}=${tag} exec /bin/sh -c ${shellQuote(command)}`;
  return replacingLoginShell(`${becomePrefix(become)}env ${JOB_TAG_VARIABLE}=${tag} /bin/sh -c ${shellQuote(command)}`);
}

/** The probe of a login shell: the posix form of a command that prints its tag. */
export function buildProbeCommand(tag: string): string {
  return buildRemoteCommand(`printf %s "$${JOB_TAG_VARIABLE}"`, tag, undefined, 'posix');
}

/**
 * `exec` first: the login shell sshd starts with -c becomes the wrapper instead of forking it and waiting. dash
 * (Debian's sh) forks for the last command of its -c text, bash does not: a fork and a process fewer on the host
 * for every command, and no untagged shell above the tagged tree. Every login shell has exec (sh, bash, zsh, ksh,
 * csh, tcsh, fish); `env` is what sets the tag in all of them.
 */
function replacingLoginShell(text: string): string {
  return `exec ${text}`;
}

/** Privilege escalation through sudo: the password, when there is one, goes on stdin, never argv. */
export interface BecomeSpec {
  /** The unique prompt sudo prints on stderr when (and only when) it wants the password. */
  promptMarker?: string;
  /** The account to run as (sudo -u); root when absent. */
  user?: string;
}

/**
 * `sudo -S -p MARKER` prints MARKER on stderr when it needs the password and then reads it from
 * stdin; the password is written only after the marker is seen, so with cached credentials or
 * NOPASSWD it never reaches the command's stdin. Without a password, `sudo -n` fails instead of
 * prompting.
 */
export function becomePrefix(become: BecomeSpec | undefined): string {
  if (!become) return '';
  const as = become.user !== undefined ? `-u ${shellQuote(become.user)} ` : '';
  return become.promptMarker ? `sudo -S -p ${shellQuote(become.promptMarker)} ${as}` : `sudo -n ${as}`;
}

/** A sudo prompt marker unlikely to appear in real output. */
export function sudoPromptMarker(tag: string): string {
  return `[herd-sudo-${tag}]:`;
}

/**
 * Kill every process on the host whose environment carries the tag, then make sure they are gone.
 * Prints `KILLED LEFT`: how many it signalled, and how many tagged processes were still there when
 * it stopped waiting (0 means verified gone). It runs under /bin/sh whatever the login shell is.
 */
export function buildKillCommand(tag: string, become?: BecomeSpec): string {
  return replacingLoginShell(`${becomePrefix(become)}/bin/sh -c ${shellQuote(buildKillScript(tag))}`);
}

/** Rounds of the scan: processes forked between two scans are caught by the next; ~1 s at most. */
const KILL_ROUNDS = 20;

function buildKillScript(tag: string): string {
  const needle = `${JOB_TAG_VARIABLE}=${tag}`;
  // One grep over every environ file: a grep per process took seconds on a host with a few thousand.
  // A process signalled but not yet dead still matches; it is waited for, never counted twice.
  return [
    `killed=' '; n=0; i=0`,
    `while :; do`,
    `  left=0`,
    `  for p in $(grep -laF ${shellQuote(needle)} /proc/[0-9]*/environ 2>/dev/null | sed -e 's,^/proc/,,' -e 's,/environ$,,'); do`,
    `    left=$((left+1))`,
    `    case "$killed" in *" $p "*) continue;; esac`,
    `    kill -KILL "$p" 2>/dev/null && { killed="$killed$p "; n=$((n+1)); }`,
    `  done`,
    `  if [ "$left" -eq 0 ] || [ "$i" -ge ${KILL_ROUNDS} ]; then break; fi`,
    `  i=$((i+1))`,
    `  sleep 0.05 2>/dev/null || sleep 1`,
    `done`,
    `echo "$n $left"`,
  ].join('\n');
}
