import { HerdError } from '../errors.js';

export class TransferError extends HerdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_TRANSFER', message, options);
  }
}
