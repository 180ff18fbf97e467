// A failed transfer, with the code of its cause: the host's SFTP status or a local errno.
import ssh2 from './ssh2.js';
import { codeOfErrno, HerdError, type ErrorCode } from '../errors.js';

/** A failed transfer; its code comes from the cause (SFTP status, local errno) unless given. */
export class TransferError extends HerdError {
  constructor(message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? transferCodeOf(options?.cause), message, options);
  }
}

const { STATUS_CODE } = ssh2.utils.sftp;

/** The host's SFTP status code (a number) or a local errno (a string), as one of our codes. */
export function transferCodeOf(cause: unknown): ErrorCode {
  const code = (cause as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return codeOfErrno(code);
  switch (code) {
    case STATUS_CODE.NO_SUCH_FILE:
      return 'E_NO_SUCH_FILE';
    case STATUS_CODE.PERMISSION_DENIED:
      return 'E_PERMISSION';
    case STATUS_CODE.NO_CONNECTION:
    case STATUS_CODE.CONNECTION_LOST:
      return 'E_CONNECTION_LOST';
    default:
      return 'E_TRANSFER';
  }
}
