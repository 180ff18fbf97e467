// OpenSSH's sshd announces, right after a client logs in, every host key it has (the hostkeys-00@openssh.com global
// request, for the client's UpdateHostKeys). ssh2 1.17 answers every announcement on its own: it parses each key (for
// an Ed25519 key an ASN.1 structure and a PEM text, after regular expressions over the blob for the formats it is
// not), then asks the host to prove it holds them all (hostkeys-prove-00@openssh.com: one more round trip, the host
// signs with each of its keys, RSA ones included) and checks every signature, all to emit a 'hostkeys' event. herd
// never listens to it (it records host keys from the key exchange alone, as OpenSSH does without UpdateHostKeys), so
// an announcement that wants no reply, as OpenSSH's never does, does not reach ssh2; one that wants a reply does.
// It is still acknowledged at once, with an SSH_MSG_IGNORE: sshd (no TCP_NODELAY for a session without a terminal)
// holds its next small packet, the confirmation of the channel herd opened, until the announcement's bytes are
// acknowledged, and a client with nothing to send leaves that to the kernel's delayed ACK: 40 ms more for a
// one-host run, measured. test/unit/transport/ssh2-hostkeys.test.ts pins the internals used. Imports nothing of
// ssh2's: transport/ssh2.ts hands it ssh2's handler table and packet sender, once the certificate extension is in
// place.

/** SSH_MSG_GLOBAL_REQUEST (RFC 4254 section 4). */
const GLOBAL_REQUEST = 80;
/** SSH_MSG_IGNORE (RFC 4253 section 11.2): any side may send it at any time; the other discards it. */
const IGNORE = 2;
const HOSTKEYS = Buffer.from('hostkeys-00@openssh.com', 'latin1');

/** Whether a GLOBAL_REQUEST payload (its type byte first) is a host key announcement that wants no reply. */
export function isQuietHostKeysAnnouncement(payload: Buffer): boolean {
  // byte type, string name (uint32 length + bytes), boolean want-reply
  const nameEnd = 5 + HOSTKEYS.length;
  if (payload.length <= nameEnd || payload.readUInt32BE(1) !== HOSTKEYS.length) return false;
  return payload.subarray(5, nameEnd).equals(HOSTKEYS) && payload[nameEnd] === 0;
}

/** ssh2's message handlers, by message number (protocol/handlers.js): Protocol reads this array for every packet. */
export type MessageHandlers = (((protocol: unknown, payload: Buffer) => unknown) | undefined)[];
/** ssh2's utils.sendPacket: encrypts and writes a finalized packet, or queues it during a key exchange. */
export type SendPacket = (protocol: unknown, packet: Buffer) => unknown;

interface PacketWriter {
  allocStart: number;
  alloc(payloadLength: number): Buffer;
  finalize(packet: Buffer): Buffer;
}

/** An empty SSH_MSG_IGNORE, written as ssh2 writes its own packets (Protocol.ping's way). */
function sendIgnore(protocol: unknown, sendPacket: SendPacket): void {
  const writer = (protocol as { _packetRW?: { write?: PacketWriter } })._packetRW?.write;
  if (!writer) return;
  const start = writer.allocStart;
  const packet = writer.alloc(5);
  packet[start] = IGNORE;
  packet.writeUInt32BE(0, start + 1);
  sendPacket(protocol, writer.finalize(packet));
}

let installed = false;

/** From now on ssh2 does not see host key announcements that want no reply (once per process). */
export function ignoreHostKeysAnnouncements(handlers: MessageHandlers, sendPacket: SendPacket): void {
  if (installed) return;
  const plain = handlers[GLOBAL_REQUEST];
  if (typeof plain !== 'function') return;
  installed = true;
  handlers[GLOBAL_REQUEST] = (protocol: unknown, payload: Buffer): unknown => {
    if (!isQuietHostKeysAnnouncement(payload)) return plain(protocol, payload);
    sendIgnore(protocol, sendPacket);
    return undefined;
  };
}
