// Matching hashed known_hosts names (`|1|salt|hash`, HMAC-SHA1 of the name) fast enough for a
// fleet: every hashed entry must be tried against every host, so a 7,000-line file and 7,000 hosts
// make 49 million HMACs. The HMAC key pads are hashed once per entry, and a short name then costs
// two SHA-1 compressions in plain JS, several times cheaper than a crypto.createHmac object each.
import { createHmac } from 'node:crypto';

const IV = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0];
const w = new Int32Array(80);
const block = new Uint8Array(64);

function compress(st: Int32Array): void {
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
    w[t] = (x << 1) | (x >>> 31);
  }
  let a = st[0]!;
  let b = st[1]!;
  let c = st[2]!;
  let d = st[3]!;
  let e = st[4]!;
  for (let t = 0; t < 80; t++) {
    let f: number;
    let k: number;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc | 0;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6 | 0;
    }
    const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  st[0] = (st[0]! + a) | 0;
  st[1] = (st[1]! + b) | 0;
  st[2] = (st[2]! + c) | 0;
  st[3] = (st[3]! + d) | 0;
  st[4] = (st[4]! + e) | 0;
}

function loadBlock(): void {
  for (let i = 0; i < 16; i++) {
    w[i] = (block[4 * i]! << 24) | (block[4 * i + 1]! << 16) | (block[4 * i + 2]! << 8) | block[4 * i + 3]!;
  }
}

/** SHA-1 state after one 64-byte block of the key XOR `pad`. */
function padState(key: Uint8Array, pad: number): Int32Array {
  const st = Int32Array.from(IV);
  for (let i = 0; i < 64; i++) block[i] = (key[i] ?? 0) ^ pad;
  loadBlock();
  compress(st);
  return st;
}

/** Finish a SHA-1 whose first 64 bytes are in `state` with `msg` (at most 55 bytes) as the rest. */
function finish(state: Int32Array, msg: Uint8Array, out: Int32Array): void {
  out.set(state);
  block.fill(0);
  block.set(msg);
  block[msg.length] = 0x80;
  const bits = (64 + msg.length) * 8;
  block[62] = bits >>> 8;
  block[63] = bits & 0xff;
  loadBlock();
  compress(out);
}

const inner = new Int32Array(5);
const outer = new Int32Array(5);
const innerBytes = new Uint8Array(20);

/** One hashed known_hosts name: its 20-byte salt and the HMAC-SHA1 it must produce. */
export class HashedName {
  private readonly ipad: Int32Array;
  private readonly opad: Int32Array;
  private readonly want: Int32Array;

  constructor(
    private readonly salt: Buffer,
    private readonly digest: Buffer,
  ) {
    this.ipad = padState(salt, 0x36);
    this.opad = padState(salt, 0x5c);
    this.want = new Int32Array(5);
    for (let i = 0; i < 5; i++) this.want[i] = digest.readInt32BE(4 * i);
  }

  /** Is HMAC-SHA1(salt, name) the stored hash? */
  matches(bytes: Buffer): boolean {
    if (bytes.length > 55) return createHmac('sha1', this.salt).update(bytes).digest().equals(this.digest);
    finish(this.ipad, bytes, inner);
    for (let i = 0; i < 5; i++) {
      innerBytes[4 * i] = inner[i]! >>> 24;
      innerBytes[4 * i + 1] = inner[i]! >>> 16;
      innerBytes[4 * i + 2] = inner[i]! >>> 8;
      innerBytes[4 * i + 3] = inner[i]!;
    }
    finish(this.opad, innerBytes, outer);
    for (let i = 0; i < 5; i++) if (outer[i] !== this.want[i]) return false;
    return true;
  }
}
