// Names of the temporary files a transfer writes beside its targets before renaming them into place.
// The random part is what keeps them safe: nobody can plant a link at a name they cannot predict,
// and the file is created exclusively anyway. The `.herd-tmp` suffix makes leftovers recognisable.
import { randomBytes } from 'node:crypto';

const SUFFIX = '.herd-tmp';
// Longer names go without it (a name may have at most 255 bytes): such leftovers are not attributed.
const MAX_NAME_BYTES = 200;
const RANDOM = /^[0-9a-f]{16}$/;

/** A fresh temporary name for a file named `name`: `.NAME.<16 hex>.herd-tmp`. */
export function tempName(name: string): string {
  const random = randomBytes(8).toString('hex');
  return Buffer.byteLength(name) <= MAX_NAME_BYTES ? `.${name}.${random}${SUFFIX}` : `.${random}${SUFFIX}`;
}

/**
 * Is this a name herd's temporary files have, now or in earlier versions (`.NAME.herd-tmp`)?
 * A host's entries with such names are never recreated by a pull.
 */
export function looksLikeTempName(name: string): boolean {
  return name.endsWith(SUFFIX);
}

/**
 * The target name a leftover temporary file of herd's was for, or undefined when `name` is not one
 * of herd's random temporary names (or its target is not recorded in it).
 */
export function tempTarget(name: string): string | undefined {
  if (!name.startsWith('.') || !name.endsWith(SUFFIX)) return undefined;
  const inner = name.slice(1, -SUFFIX.length);
  const dot = inner.lastIndexOf('.');
  if (dot <= 0 || !RANDOM.test(inner.slice(dot + 1))) return undefined;
  return inner.slice(0, dot);
}
