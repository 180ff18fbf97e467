// Pure builders for the exact text sent to a host's sshd. No I/O.

/** Quote a string for POSIX sh as one word. */
export function shellQuote(text: string): string {
  if (text !== '' && /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Environment tag name that marks every process of one herd command on a host. */
export const JOB_TAG_VARIABLE = 'HERD_JOB';

/**
 * Run the user's command under /bin/sh with a unique tag in its environment. The tag is inherited
 * by every child, which is how a timeout finds and kills the whole remote process tree later,
 * whatever the login shell is and even when the command forked into the background.
 */
export function buildRemoteCommand(command: string, tag: string, become?: BecomeSpec): string {
  return `${becomePrefix(become)}env ${JOB_TAG_VARIABLE}=${tag} /bin/sh -c ${shellQuote(command)}`;
}

/** Privilege escalation through sudo: the password, when there is one, goes on stdin, never argv. */
export interface BecomeSpec {
  /** The unique prompt sudo prints on stderr when (and only when) it wants the password. */
  promptMarker?: string;
}

/**
 * `sudo -S -p MARKER` prints MARKER on stderr when it needs the password and then reads it from
 * stdin; the password is written only after the marker is seen, so with cached credentials or
 * NOPASSWD it never reaches the command's stdin. Without a password, `sudo -n` fails instead of
 * prompting.
 */
export function becomePrefix(become: BecomeSpec | undefined): string {
  if (!become) return '';
  return become.promptMarker ? `sudo -S -p ${shellQuote(become.promptMarker)} ` : 'sudo -n ';
}

/** A sudo prompt marker unlikely to appear in real output. */
export function sudoPromptMarker(tag: string): string {
  return `[herd-sudo-${tag}]:`;
}

/** Kill every process on the host whose environment carries the tag; prints how many it signalled. */
export function buildKillCommand(tag: string, become?: BecomeSpec): string {
  const script = buildKillScript(tag);
  return become ? `${becomePrefix(become)}/bin/sh -c ${shellQuote(script)}` : script;
}

function buildKillScript(tag: string): string {
  const needle = `${JOB_TAG_VARIABLE}=${tag}`;
  return [
    'n=0',
    `for f in /proc/[0-9]*/environ; do`,
    `  if grep -qaF ${shellQuote(needle)} "$f" 2>/dev/null; then`,
    `    p=\${f#/proc/}; p=\${p%/environ}`,
    `    kill -KILL "$p" 2>/dev/null && n=$((n+1))`,
    `  fi`,
    `done`,
    `echo "$n"`,
  ].join('\n');
}
