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
 * started at all: the login shell runs the command itself) only in a login shell that is /bin/sh, started as `sh`.
 * A probe over the same connection tells which (exec.ts probeLoginShell). Each form runs the command in /bin/sh
 * with `$0` set to `sh`, the tag in its environment and in every child's: the same output, status and error text.
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
  return `/bin/sh -c ${shellQuote(command)} sh`;
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
 * The probe of a login shell, run as each form would run a command. Prints `TAG:TAG` when the login shell is /bin/sh
 * started as `sh` (the direct form's prefix, then a check that it is that shell and that a child sees the tag), then
 * `TAG` from the posix form's own text, which the login shell execs. A login shell that cannot run it (a csh, fish)
 * prints something else, or complains on stderr. Its processes carry the tag, as a command's do.
 */
export function buildProbeCommand(tag: string): string {
  const direct = `{ [ "$0" = sh ] && [ /proc/$$/exe -ef /bin/sh ]; } 2>/dev/null && /bin/sh -c 'printf %s "$${JOB_TAG_VARIABLE}:"';`;
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
  const entry = `${JOB_TAG_VARIABLE}=${tag}`;
  // One grep over every environ file finds the candidates: a grep per process took seconds on a host with a few
  // thousand. A candidate is ours when the tag is a whole entry of its environment, not text inside another
  // variable: under a ForceCommand, sshd puts this very script in SSH_ORIGINAL_COMMAND, in its own environment.
  // A login shell that ran the command directly (and each shell it forked) has the tag in its command line instead:
  // that text is read from a here-document, built from its two halves, so no command line of this script's holds it.
  // One of another user, whose environment cannot be read, is none of this command's (only its command line could
  // name the tag). A process signalled but not yet dead still matches; it is waited for, never counted twice.
  return [
    `killed=' '; n=0; i=0; j=${shellQuote(tag)}`,
    `ours() {`,
    `  [ -r "/proc/$1/environ" ] || return 1`,
    `  tr '\\000' '\\n' < "/proc/$1/environ" 2>/dev/null | grep -qxF ${shellQuote(entry)} && return 0`,
    `  grep -qF -f - "/proc/$1/cmdline" 2>/dev/null <<EOF`,
    directPrefix('$j'),
    `EOF`,
    `}`,
    `while :; do`,
    `  left=0; seen=' '`,
    `  for p in $( { grep -laF ${shellQuote(entry)} /proc/[0-9]*/environ; grep -laF -f - /proc/[0-9]*/cmdline <<EOF`,
    directPrefix('$j'),
    `EOF`,
    `  } 2>/dev/null | sed -e 's,^/proc/,,' -e 's,/[a-z]*$,,'); do`,
    `    case "$seen" in *" $p "*) continue;; esac`,
    `    seen="$seen$p "`,
    `    ours "$p" || continue`,
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
