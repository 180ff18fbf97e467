// Matching hashed known_hosts names (`|1|salt|hash`, HMAC-SHA1 of the name) fast enough for a fleet.
// With OpenSSH's per-line salts every line must be tried against every host (10,000 of each: 100
// million HMACs), so the cost per try is what matters. Measured on Node 20, one HMAC of a short
// name: crypto.createHmac ~4.5 us (a call's overhead), crypto.hash twice on prebuilt buffers ~5 us,
// plain JS SHA-1 with the salt's pads hashed once ~0.65 us: two compressions, the name's block and
// its message schedule shared by every salt (expanded once per name), the rounds unrolled by five.
// Names that share a salt (the ones herd writes) cost one HMAC per salt: a map finds the digest.
import { createHmac } from 'node:crypto';

const IV = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0];

/** The 80-word message schedule of one block whose first 16 words are set. */
function expand(w: Int32Array): void {
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
    w[t] = (x << 1) | (x >>> 31);
  }
}

/** One SHA-1 compression of an expanded block `w` into `out`, starting from `st`. */
function compress(st: Int32Array, w: Int32Array, out: Int32Array): void {
  let a = st[0]!;
  let b = st[1]!;
  let c = st[2]!;
  let d = st[3]!;
  let e = st[4]!;
  for (let t = 0; t < 20; t += 5) {
    e = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[t]!) | 0;
    b = (b << 30) | (b >>> 2);
    d = (((e << 5) | (e >>> 27)) + ((a & b) | (~a & c)) + d + 0x5a827999 + w[t + 1]!) | 0;
    a = (a << 30) | (a >>> 2);
    c = (((d << 5) | (d >>> 27)) + ((e & a) | (~e & b)) + c + 0x5a827999 + w[t + 2]!) | 0;
    e = (e << 30) | (e >>> 2);
    b = (((c << 5) | (c >>> 27)) + ((d & e) | (~d & a)) + b + 0x5a827999 + w[t + 3]!) | 0;
    d = (d << 30) | (d >>> 2);
    a = (((b << 5) | (b >>> 27)) + ((c & d) | (~c & e)) + a + 0x5a827999 + w[t + 4]!) | 0;
    c = (c << 30) | (c >>> 2);
  }
  for (let t = 20; t < 40; t += 5) {
    e = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[t]!) | 0;
    b = (b << 30) | (b >>> 2);
    d = (((e << 5) | (e >>> 27)) + (a ^ b ^ c) + d + 0x6ed9eba1 + w[t + 1]!) | 0;
    a = (a << 30) | (a >>> 2);
    c = (((d << 5) | (d >>> 27)) + (e ^ a ^ b) + c + 0x6ed9eba1 + w[t + 2]!) | 0;
    e = (e << 30) | (e >>> 2);
    b = (((c << 5) | (c >>> 27)) + (d ^ e ^ a) + b + 0x6ed9eba1 + w[t + 3]!) | 0;
    d = (d << 30) | (d >>> 2);
    a = (((b << 5) | (b >>> 27)) + (c ^ d ^ e) + a + 0x6ed9eba1 + w[t + 4]!) | 0;
    c = (c << 30) | (c >>> 2);
  }
  for (let t = 40; t < 60; t += 5) {
    e = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + (0x8f1bbcdc | 0) + w[t]!) | 0;
    b = (b << 30) | (b >>> 2);
    d = (((e << 5) | (e >>> 27)) + ((a & b) | (a & c) | (b & c)) + d + (0x8f1bbcdc | 0) + w[t + 1]!) | 0;
    a = (a << 30) | (a >>> 2);
    c = (((d << 5) | (d >>> 27)) + ((e & a) | (e & b) | (a & b)) + c + (0x8f1bbcdc | 0) + w[t + 2]!) | 0;
    e = (e << 30) | (e >>> 2);
    b = (((c << 5) | (c >>> 27)) + ((d & e) | (d & a) | (e & a)) + b + (0x8f1bbcdc | 0) + w[t + 3]!) | 0;
    d = (d << 30) | (d >>> 2);
    a = (((b << 5) | (b >>> 27)) + ((c & d) | (c & e) | (d & e)) + a + (0x8f1bbcdc | 0) + w[t + 4]!) | 0;
    c = (c << 30) | (c >>> 2);
  }
  for (let t = 60; t < 80; t += 5) {
    e = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + (0xca62c1d6 | 0) + w[t]!) | 0;
    b = (b << 30) | (b >>> 2);
    d = (((e << 5) | (e >>> 27)) + (a ^ b ^ c) + d + (0xca62c1d6 | 0) + w[t + 1]!) | 0;
    a = (a << 30) | (a >>> 2);
    c = (((d << 5) | (d >>> 27)) + (e ^ a ^ b) + c + (0xca62c1d6 | 0) + w[t + 2]!) | 0;
    e = (e << 30) | (e >>> 2);
    b = (((c << 5) | (c >>> 27)) + (d ^ e ^ a) + b + (0xca62c1d6 | 0) + w[t + 3]!) | 0;
    d = (d << 30) | (d >>> 2);
    a = (((b << 5) | (b >>> 27)) + (c ^ d ^ e) + a + (0xca62c1d6 | 0) + w[t + 4]!) | 0;
    c = (c << 30) | (c >>> 2);
  }
  out[0] = (st[0]! + a) | 0;
  out[1] = (st[1]! + b) | 0;
  out[2] = (st[2]! + c) | 0;
  out[3] = (st[3]! + d) | 0;
  out[4] = (st[4]! + e) | 0;
}

/** Big-endian words of a 64-byte block. */
function wordsOf(block: Uint8Array, w: Int32Array): void {
  for (let i = 0; i < 16; i++) {
    w[i] = (block[4 * i]! << 24) | (block[4 * i + 1]! << 16) | (block[4 * i + 2]! << 8) | block[4 * i + 3]!;
  }
}

/** SHA-1 state after one 64-byte block of the key XOR `pad`. */
function padState(key: Uint8Array, pad: number): Int32Array {
  const block = new Uint8Array(64);
  for (let i = 0; i < 64; i++) block[i] = (key[i] ?? 0) ^ pad;
  const w = new Int32Array(80);
  wordsOf(block, w);
  expand(w);
  const st = new Int32Array(5);
  compress(Int32Array.from(IV), w, st);
  return st;
}

/** A name's inner HMAC block (the name after the 64-byte key block), expanded once for every salt. */
export class NameBlock {
  /** Null when the name does not fit in one block (more than 55 bytes): such names take createHmac. */
  readonly w: Int32Array | null;

  constructor(readonly bytes: Buffer) {
    if (bytes.length > 55) {
      this.w = null;
      return;
    }
    const block = new Uint8Array(64);
    block.set(bytes);
    block[bytes.length] = 0x80;
    const bits = (64 + bytes.length) * 8;
    block[62] = bits >>> 8;
    block[63] = bits & 0xff;
    this.w = new Int32Array(80);
    wordsOf(block, this.w);
    expand(this.w);
  }
}

const inner = new Int32Array(5);
const outer = new Int32Array(5);
const outerW = new Int32Array(80);

/** The salt's key pads, hashed once: HMAC-SHA1(salt, name) then costs two compressions. */
export class HmacKey {
  private readonly ipad: Int32Array;
  private readonly opad: Int32Array;

  constructor(readonly salt: Buffer) {
    this.ipad = padState(salt, 0x36);
    this.opad = padState(salt, 0x5c);
  }

  /** HMAC-SHA1(salt, name) as five big-endian words, in a buffer reused by the next call. */
  digestWords(name: NameBlock): Int32Array {
    if (name.w === null) {
      const d = createHmac('sha1', this.salt).update(name.bytes).digest();
      for (let i = 0; i < 5; i++) outer[i] = d.readInt32BE(4 * i);
      return outer;
    }
    compress(this.ipad, name.w, inner);
    // The outer message is the 20-byte inner digest: 0x80 after it and a length of (64 + 20) * 8 bits.
    outerW.fill(0, 0, 16);
    outerW.set(inner);
    outerW[5] = 0x80000000 | 0;
    outerW[15] = (64 + 20) * 8;
    expand(outerW);
    compress(this.opad, outerW, outer);
    return outer;
  }
}

/** One hashed known_hosts name: its 20-byte salt and the HMAC-SHA1 it must produce. */
export class HashedName {
  private readonly key: HmacKey;
  private readonly want: Int32Array;

  constructor(salt: Buffer, digest: Buffer) {
    this.key = new HmacKey(salt);
    this.want = wordsOfDigest(digest);
  }

  /** Is HMAC-SHA1(salt, name) the stored hash? */
  matches(bytes: Buffer | NameBlock): boolean {
    const got = this.key.digestWords(bytes instanceof NameBlock ? bytes : new NameBlock(bytes));
    for (let i = 0; i < 5; i++) if (got[i] !== this.want[i]) return false;
    return true;
  }
}

function wordsOfDigest(digest: Buffer): Int32Array {
  const want = new Int32Array(5);
  for (let i = 0; i < 5; i++) want[i] = digest.readInt32BE(4 * i);
  return want;
}

interface Stored<T> {
  want: Int32Array;
  value: T;
}

/** The hashed names that share one salt, found by their digest's first word. */
interface SaltGroup<T> {
  key: HmacKey;
  /** The group's only name while it has one (OpenSSH's lines: a salt each), so no map lookup is needed. */
  only: Stored<T> | null;
  byFirstWord: Map<number, Stored<T>[]> | null;
  size: number;
}

const sameDigest = (want: Int32Array, got: Int32Array): boolean =>
  want[0] === got[0] && want[1] === got[1] && want[2] === got[2] && want[3] === got[3] && want[4] === got[4];

/**
 * Hashed names grouped by salt: a lookup costs one HMAC per distinct salt, not one per name.
 * OpenSSH gives every line its own salt, so its files still cost one HMAC per line.
 */
export class HashedNameIndex<T> {
  private readonly bySalt = new Map<string, SaltGroup<T>>();
  /** The same groups in an array: iterating it is cheaper than a Map's iterator, once per group per lookup. */
  private readonly groups: SaltGroup<T>[] = [];

  add(salt: Buffer, digest: Buffer, value: T): void {
    const id = salt.toString('latin1');
    const stored = { want: wordsOfDigest(digest), value };
    const group = this.bySalt.get(id);
    if (!group) {
      const fresh: SaltGroup<T> = { key: new HmacKey(salt), only: stored, byFirstWord: null, size: 1 };
      this.bySalt.set(id, fresh);
      this.groups.push(fresh);
      return;
    }
    if (group.only) {
      group.byFirstWord = new Map([[group.only.want[0]!, [group.only]]]);
      group.only = null;
    }
    const list = group.byFirstWord!.get(stored.want[0]!);
    if (list) list.push(stored);
    else group.byFirstWord!.set(stored.want[0]!, [stored]);
    group.size++;
  }

  /** Every value whose digest is HMAC-SHA1(its salt, name), in the order they were added per salt. */
  find(name: NameBlock): T[] {
    const found: T[] = [];
    for (const group of this.groups) {
      const got = group.key.digestWords(name);
      if (group.only) {
        if (sameDigest(group.only.want, got)) found.push(group.only.value);
        continue;
      }
      for (const s of group.byFirstWord!.get(got[0]!) ?? []) if (sameDigest(s.want, got)) found.push(s.value);
    }
    return found;
  }

  /** Distinct salts: the HMACs one lookup costs. */
  get salts(): number {
    return this.groups.length;
  }

  /** The salt most names share, when one is shared at all (first in file order on a tie). */
  mostSharedSalt(): Buffer | null {
    let best: SaltGroup<T> | null = null;
    for (const g of this.groups) if (g.size >= 2 && (!best || g.size > best.size)) best = g;
    return best ? best.key.salt : null;
  }
}
