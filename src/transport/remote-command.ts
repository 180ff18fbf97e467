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
 * tcsh, fish); `posix` (an assignment before exec, no `env`) only in one that speaks POSIX sh; `direct` (no program
 * started at all: the login shell runs the command itself) only in a login shell that is /bin/sh, started as `sh`,
 * and is dash, with herd's text as its own command line. A probe over the same connection tells which (exec.ts
 * probeLoginShell). Each form runs the command in /bin/sh with `$0` set to `sh`, the tag in its environment and in
 * every child's: the same output, status and error text. Only dash is taken as it is: bash as /bin/sh quotes the
 * whole line, prefix and tag included, in a syntax error, and busybox words its messages otherwise with `-c` text
 * alone than with a name after it.
 */
export type WrapperForm = 'portable' | 'posix' | 'direct';

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
  if (become) return replacingLoginShell(`${becomePrefix(become)}env ${JOB_TAG_VARIABLE}=${tag} ${inSh(command)}`);
  switch (form) {
    case 'direct':
      // On the command's own line: the shell's messages number its lines as `sh -c` would (sh: 1: …).
      return `${directPrefix(tag)} ${command}`;
    case 'posix':
      return `${JOB_TAG_VARIABLE}=${tag} exec ${inSh(command)}`;
    case 'portable':
      return replacingLoginShell(`env ${JOB_TAG_VARIABLE}=${tag} ${inSh(command)}`);
    default: {
      const never: never = form;
      return never;
    }
  }
}

/**
 * /bin/sh running the command, with `$0` set to `sh`, as sshd starts a login shell that is /bin/sh (the direct
 * form): its messages read `sh: 1: …` whichever form ran the command.
 */
function inSh(command: string): string {
  // `--`: a command that starts with `-` is the command, not options of sh (`-v` ran nothing, `--version` failed).
  return `/bin/sh -c -- ${shellQuote(command)} sh`;
}

/**
 * What the direct form runs before the command, in the login shell itself. That shell's environment cannot carry
 * the tag (it is set once the shell runs), so the kill script finds it by this text in its command line, which
 * every shell it forks keeps too; whatever it starts has the tag in its environment.
 */
function directPrefix(tag: string): string {
  return `${JOB_TAG_VARIABLE}=${tag}; export ${JOB_TAG_VARIABLE};`;
}

/**
 * The probe of a login shell, run as each form would run a command. Prints `TAG:` when the direct form would do
 * (below), then `TAG` from the posix form's own text, which the login shell execs. A login shell that cannot run it
 * (a csh, fish) prints something else, or complains on stderr. Its processes carry the tag, as a command's do.
 *
 * The direct form's prefix comes first, then its checks: the login shell was started as `sh`, is /bin/sh's file,
 * and is dash; its command line holds the prefix (the kill finds it by that: a ForceCommand that evals
 * $SSH_ORIGINAL_COMMAND in its own shell has other text there, and its messages name eval); grep reads NUL-separated
 * files (`-z`, which the kill needs); and a child sees the tag.
 */
export function buildProbeCommand(tag: string): string {
  const checks = [
    `[ "$0" = sh ]`,
    `[ /proc/$$/exe -ef /bin/sh ]`,
    `case "$(readlink /proc/$$/exe)" in */dash) ;; *) false;; esac`,
    `grep -qzF -- "${directPrefix(`$${JOB_TAG_VARIABLE}`)}" /proc/$$/cmdline`,
  ].join(' && ');
  const direct = `{ ${checks}; } 2>/dev/null && /bin/sh -c 'printf %s "$${JOB_TAG_VARIABLE}:"';`;
  return `${directPrefix(tag)} ${direct} ${buildRemoteCommand(`printf %s "$${JOB_TAG_VARIABLE}"`, tag, undefined, 'posix')}`;
}

/** What a probe's stdout says of the login shell (exit 0 and nothing on stderr being the caller's to check). */
export function probeAnswer(tag: string, stdout: string): WrapperForm {
  if (stdout === `${tag}:${tag}`) return 'direct';
  return stdout === tag ? 'posix' : 'portable';
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
 * Kill every process on the host whose environment carries the tag, and every live process of a session one of them
 * leads (the command's own, as sshd made it), then make sure they are gone. Prints `KILLED LEFT`: how many it
 * signalled, and how many of those processes were still there when it stopped waiting (0 means verified gone). It
 * runs under /bin/sh whatever the login shell is.
 * `byCommandLine`: the command ran in the direct form, whose login shell (and each shell it forked) carries the tag
 * in its command line only; never through sudo (a process's command line is anyone's to write and to read).
 */
export function buildKillCommand(tag: string, become?: BecomeSpec, byCommandLine = false): string {
  const script = buildKillScript(tag, byCommandLine && !become);
  return replacingLoginShell(`${becomePrefix(become)}/bin/sh -c ${shellQuote(script)}`);
}

/** Rounds of the scan: processes forked between two scans are caught by the next; ~1 s at most. */
const KILL_ROUNDS = 20;

function buildKillScript(tag: string, byCommandLine: boolean): string {
  // /proc's files are NUL-separated: grep -z reads each variable (each argument) as a line, so -x matches
  // HERD_JOB=<tag> as a whole variable, not as text inside another (under a ForceCommand, sshd puts this very script
  // in SSH_ORIGINAL_COMMAND, in its own environment), and busybox grep, which stops a line at a NUL, reads past the
  // first. A grep without -z would find nothing and vouch for it: the script first checks that it has it, and says
  // something no count can be read from otherwise (the kill is then "could not be confirmed").
  // One grep over every environ file: a grep per process took seconds on a host with a few thousand.
  const byEnvironment = `grep -lzxF ${shellQuote(`${JOB_TAG_VARIABLE}=${tag}`)} /proc/[0-9]*/environ`;
  // The direct form's prefix is read from a here-document, built from its two halves, so that no command line of
  // this script's own holds it. A process of another user, whose environment cannot be read, is none of this
  // command's (only its command line could name the tag).
  const find = byCommandLine
    ? [`{ ${byEnvironment}; grep -lzF -f - /proc/[0-9]*/cmdline <<EOF`, directPrefix('$j'), 'EOF', '  }']
    : [byEnvironment];
  return [
    `printf 'a=1\\000b=2\\000' | grep -qzxF b=2 || { echo 'no grep -z here'; exit 0; }`,
    `killed=' '; sessions=' '; n=0; i=0; j=${shellQuote(tag)}`,
    `while :; do`,
    `  ours=' '`,
    `  for p in $( ${find.join('\n')} 2>/dev/null | sed -e 's,^/proc/,,' -e 's,/[a-z]*$,,'); do`,
    `    case $p in ''|*[!0-9]*) continue;; esac`,
    `    [ -r "/proc/$p/environ" ] && ours="$ours$p "`,
    `  done`,
    // sshd starts each command in a session of its own, whose leader is the login shell that became the tagged sh
    // (or, in the direct form, is found by its command line). Every live process of a session led by one of ours is
    // the command's too, whatever its environment: one that cleared it, or one whose environment the user cannot
    // read (a setuid program, a non-dumpable agent). It is signalled, and counted while it lives; the session stays
    // the command's once its leader is killed (Linux gives no new process that pid while the session has members).
    // Each process's state and session come from its own status file, whose pid is its name: a process name is
    // escaped there (in stat it is raw, and one holding a newline could forge another process's fields).
    `  left=0`,
    `  for w in $(grep -sH -e '^State:' -e '^NSsid:' /proc/[0-9]*/status | awk -v ours="$ours" -v sessions="$sessions" '`,
    `    match($0, /^\\/proc\\/[0-9]+\\/status:/) == 0 { next }`,
    `    { pid = substr($0, 7, RLENGTH - 14); split(substr($0, RLENGTH + 1), f, /[ \\t]+/) }`,
    `    f[1] == "State:" { state[pid] = f[2] }`,
    `    f[1] == "NSsid:" && f[2] ~ /^[0-9]+$/ { sid[pid] = f[2] }`,
    `    END {`,
    // Every live process is in state[]; sid[] only where the kernel says (NSsid: Linux 4.1 and later). Without it
    // the kill finds what carries the tag, as it did before it knew sessions.
    `      for (p in state) if (index(ours, " " p " ") && (p in sid) && sid[p] == p) { print "s" p; sessions = sessions p " " }`,
    `      for (p in state) if (state[p] != "Z" && state[p] != "X" && (index(ours, " " p " ") || ((p in sid) && index(sessions, " " sid[p] " ")))) print "p" p`,
    `    }'); do`,
    `    case $w in s[0-9]*) sessions="$sessions\${w#s} "; continue;; p[0-9]*) p=\${w#p};; *) continue;; esac`,
    `    case $p in ''|*[!0-9]*) continue;; esac`,
    `    left=$((left+1))`,
    // A process signalled but not yet dead still matches; it is waited for, never counted twice.
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
