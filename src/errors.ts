// Every error herd raises on purpose is a HerdError with a stable `code`.
// Only the CLI entry turns these into a message and an exit code; errors that
// cross process boundaries travel as plain `{ code, message }` data.

/** Where in a user's input file something went wrong (1-based line and column). */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export class HerdError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad user input found before any host was contacted: exit code 2. */
export class UsageError extends HerdError {
  constructor(message: string, code = 'E_USAGE', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A syntax or semantic error at a position in an input file (inventory, playbook). */
export class InputError extends UsageError {
  readonly position: SourcePosition;
  constructor(code: string, position: SourcePosition, detail: string) {
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
  code: string;
  message: string;
}

/** Turn anything thrown into ErrorData without leaking stack traces into results. */
export function toErrorData(err: unknown): ErrorData {
  if (err instanceof HerdError) return { code: err.code, message: err.message };
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return { code: typeof code === 'string' ? code : 'E_INTERNAL', message: err.message };
  }
  return { code: 'E_INTERNAL', message: String(err) };
}
