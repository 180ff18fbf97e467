// What a held ssh2 connection costs in memory: 10,000 sessions held at once in two workers must fit in a few
// hundred MiB (issue 15). Heap snapshots of a worker holding 2,000 sessions on the simulator showed two kinds of
// waste per connection, both in ssh2 1.17 internals (test/unit/transport/ssh2-memory.test.ts pins them):
// - its own copy of the key-exchange offer (KexInit: ~40 small buffers and objects), built from `algorithms` for
//   every connection although all connections of a run offer the same lists; it is only read after it is built;
// - small buffers that outlive the handshake (the server's version line, the decipher's tag or MAC) allocated from
//   Node's 8 KiB buffer pool: each pins a whole pool slab, ~0.7 slab per connection (5.4 KiB) for a few bytes.
import type { Client } from 'ssh2';
import { SSH2_VERSION } from './ssh2-certs.js';

interface KexInitInternals {
  lists: { all: Buffer };
}

interface ProtocolInternals {
  _offer?: KexInitInternals;
  _remoteIdentRaw?: Buffer;
  _decipher?: Record<string, unknown>;
}

/** Offers by their wire bytes (every name list with its length: two offers with the same bytes are the same). */
const offers = new Map<string, KexInitInternals>();
/** A run offers one list, or a few (ssh_config HostKeyAlgorithms per host): more are not kept. */
const MAX_SHARED_OFFERS = 64;

function protocolOf(client: Client): ProtocolInternals {
  const protocol = (client as unknown as { _protocol?: ProtocolInternals })._protocol;
  if (!protocol) throw new Error(`ssh2 internals changed (want ${SSH2_VERSION}): no _protocol`);
  return protocol;
}

/** Call right after client.connect(): the connection uses the offer of earlier connections with the same lists. */
export function shareOffer(client: Client): void {
  const protocol = protocolOf(client);
  const all = protocol._offer?.lists?.all;
  if (!Buffer.isBuffer(all)) throw new Error(`ssh2 internals changed (want ${SSH2_VERSION}): no _offer.lists.all`);
  const key = all.toString('latin1');
  const shared = offers.get(key);
  if (shared) protocol._offer = shared;
  else if (offers.size < MAX_SHARED_OFFERS) offers.set(key, protocol._offer!);
}

/** The decipher's per-packet state buffers (AES-GCM's tag, ChaCha20-Poly1305's and HMAC's MAC). */
const DECIPHER_BUFFERS = ['_tag', '_mac', '_calcMac'] as const;

/**
 * Call once the connection is ready, outside ssh2's own call stack (a microtask later): buffers that live as long
 * as the connection get their own memory instead of pinning a pool slab. Contents are copied, and ssh2 reads each
 * through its property every time, so a half-read tag or MAC carries on.
 */
export function unpoolLongLived(client: Client): void {
  const protocol = protocolOf(client);
  if (protocol._remoteIdentRaw) protocol._remoteIdentRaw = ownCopy(protocol._remoteIdentRaw);
  const decipher = protocol._decipher;
  if (!decipher) return;
  for (const name of DECIPHER_BUFFERS) {
    const value = decipher[name];
    if (Buffer.isBuffer(value)) decipher[name] = ownCopy(value);
  }
}

/** `buf` itself when it owns its memory; else a copy that does. */
export function ownCopy(buf: Buffer): Buffer {
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) return buf;
  const copy = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(copy);
  return copy;
}
