// Every error herd raises on purpose is a HerdError with a stable `code`.
// Only the CLI entry turns these into a message and an exit code; errors that
// cross process boundaries travel as plain `{ code, message }` data.

/**
 * Every code herd records or prints (journal.ndjson `code`, `herd: CODE: ...`): scripts may match
 * on them, so the set is closed. Node's errno codes (ENOENT, EACCES...) are not codes of ours:
 * they map to one of these (codeOfErrno) and stay in the message and in ErrorData.errno.
 */
export const ERROR_CODES = [
  // Bad usage or input, found before any host is contacted (exit 2).
  'E_USAGE',
  'E_INVENTORY',
  'E_INVENTORY_READ',
  'E_LIMIT',
  'E_PLAYBOOK',
  'E_PLAYBOOK_READ',
  'E_TEMPLATE',
  'E_SSH_CONFIG',
  'E_SECRET',
  'E_KEY',
  'E_RUN_DIR',
  'E_KNOWN_HOSTS',
  // Reaching a host.
  'E_REFUSED',
  'E_RESET',
  'E_HOST_UNREACHABLE',
  'E_NET_UNREACHABLE',
  'E_DNS',
  'E_CONNECT_TIMEOUT',
  'E_CONNECT',
  'E_CLOSED',
  'E_HANDSHAKE',
  'E_AUTH',
  'E_HOSTKEY_MISMATCH',
  'E_HOSTKEY_REVOKED',
  'E_HOSTKEY_UNKNOWN',
  'E_HOSTKEY_CERT',
  'E_JUMP_FORWARD',
  'E_JUMP_THROTTLED',
  // Running on a host.
  'E_CHANNEL',
  'E_EXIT',
  'E_COMMAND_TIMEOUT',
  'E_IDLE_TIMEOUT',
  'E_DEADLINE',
  'E_INTERRUPTED',
  'E_CONNECTION_LOST',
  'E_NOT_STARTED',
  'E_DIVERGED',
  'E_UNVERIFIED',
  'E_STEP',
  // Moving files.
  'E_TRANSFER',
  'E_NO_SUCH_FILE',
  'E_PERMISSION',
  'E_NO_SPACE',
  'E_UNSAFE_PATH',
  'E_IO',
  // herd itself.
  'E_WORKER_DIED',
  'E_WORKER_ERROR',
  'E_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const ERRNO_CODES: Record<string, ErrorCode> = {
  ENOENT: 'E_NO_SUCH_FILE',
  ENOTDIR: 'E_NO_SUCH_FILE',
  EACCES: 'E_PERMISSION',
  EPERM: 'E_PERMISSION',
  EROFS: 'E_PERMISSION',
  ENOSPC: 'E_NO_SPACE',
  EDQUOT: 'E_NO_SPACE',
};

/** Our code for a Node errno (`ENOENT` -> E_NO_SUCH_FILE); any other system error is E_IO. */
export function codeOfErrno(errno: string): ErrorCode {
  return ERRNO_CODES[errno] ?? 'E_IO';
}

/** Where in a user's input file something went wrong (1-based line and column). */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export class HerdError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad user input found before any host was contacted: exit code 2. */
export class UsageError extends HerdError {
  constructor(message: string, code: ErrorCode = 'E_USAGE', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A syntax or semantic error at a position in an input file (inventory, playbook). */
export class InputError extends UsageError {
  readonly position: SourcePosition;
  constructor(code: ErrorCode, position: SourcePosition, detail: string) {
    super(`${position.file}:${position.line}:${position.column}: ${detail}`, code);
    this.position = position;
  }
}

export class InventoryError extends InputError {
  constructor(position: SourcePosition, detail: string) {
    super('E_INVENTORY', position, detail);
  }
}

export class PlaybookError extends InputError {
  constructor(position: SourcePosition, detail: string) {
    super('E_PLAYBOOK', position, detail);
  }
}

/** A run directory or result file that cannot be read back (rerun, show). */
export class RunDirError extends UsageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'E_RUN_DIR', options);
  }
}

/** Plain data form of an error, safe to send over IPC or write to a file. */
export interface ErrorData {
  code: ErrorCode;
  message: string;
  /** The system error behind it (ENOENT, ENOSPC...), when there was one. */
  errno?: string;
}

/**
 * Turn anything thrown into ErrorData without leaking stack traces into results. A system error
 * (errno) gets our code for it; anything else that is not a HerdError is a bug: E_INTERNAL.
 */
export function toErrorData(err: unknown): ErrorData {
  if (err instanceof HerdError) return { code: err.code, message: err.message };
  if (err instanceof Error) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (typeof errno === 'string' && /^E[A-Z0-9]+$/.test(errno))
      return { code: codeOfErrno(errno), message: err.message, errno };
    return { code: 'E_INTERNAL', message: err.message };
  }
  return { code: 'E_INTERNAL', message: String(err) };
}
