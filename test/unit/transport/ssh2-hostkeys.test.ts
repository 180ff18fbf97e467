// Host key announcements (ssh2-hostkeys.ts): ssh2 would parse every key sshd announces after login, ask sshd to prove
// it holds them (one more round trip, a signature per key on the host) and check each proof, for a 'hostkeys' event
// herd never listens to. Against the real sshd of the loopback fleet, through herd's own connect; the ssh2 internals
// relied on, pinned.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2 from '../../../src/transport/ssh2.js';
import { connectSsh } from '../../../src/transport/connect.js';
import { loadPrivateKeys } from '../../../src/transport/keys.js';
import { isQuietHostKeysAnnouncement } from '../../../src/transport/ssh2-hostkeys.js';
import { startFleet, type Fleet } from '../../fleet/fleet.js';

const require = createRequire(import.meta.url);
const lib = path.dirname(require.resolve('ssh2'));
const source = (file: string): string => fs.readFileSync(path.join(lib, file), 'utf8');
// sshd says at DEBUG3 what it received (its packet layer logs "Received SSH2_MSG_IGNORE") and which global requests.
let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet({ logLevel: 'DEBUG3' });
});
afterAll(() => fleet?.stop());

function globalRequest(name: string, wantReply: number, rest = Buffer.alloc(0)): Buffer {
  const n = Buffer.from(name, 'latin1');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(n.length);
  return Buffer.concat([Buffer.from([80]), len, n, Buffer.from([wantReply]), rest]);
}

describe('host key announcements', () => {
  it('are told apart from every other global request by name and want-reply', () => {
    expect(isQuietHostKeysAnnouncement(globalRequest('hostkeys-00@openssh.com', 0, Buffer.alloc(60, 7)))).toBe(true);
    expect(isQuietHostKeysAnnouncement(globalRequest('hostkeys-00@openssh.com', 1))).toBe(false);
    expect(isQuietHostKeysAnnouncement(globalRequest('hostkeys-00@openssh.co', 0))).toBe(false);
    expect(isQuietHostKeysAnnouncement(globalRequest('keepalive@openssh.com', 0))).toBe(false);
    expect(isQuietHostKeysAnnouncement(globalRequest('hostkeys-00@openssh.com', 0).subarray(0, 28))).toBe(false);
  });

  it("from the fleet's sshd reach no 'hostkeys' listener: nothing is parsed, asked of the host or checked", async () => {
    const { keys } = loadPrivateKeys([fleet.keyPath], true);
    const client = await connectSsh({
      host: fleet.hosts(1, 940)[0]!,
      port: fleet.port,
      username: fleet.user,
      credentials: { keys },
      connectTimeoutMs: 10_000,
      hostKeyMode: 'off',
      knownEntries: { exact: [], bare: [] },
    });
    const announced: unknown[] = [];
    client.on('hostkeys', (k: unknown) => announced.push(k));
    try {
      // sshd announces its keys as soon as the login succeeds, before anything on a channel: by the time a command
      // has run, ssh2 has had the announcement and, when it asks for one, the proof.
      await new Promise<void>((resolve, reject) =>
        client.exec('true', (err, channel) => (err ? reject(err) : channel.on('close', () => resolve()).resume())),
      );
    } finally {
      client.end();
    }
    expect(announced).toEqual([]);
    const log = fs.readFileSync(path.join(fleet.dir, 'sshd.log'), 'utf8');
    expect(log).toMatch(/notify_hostkeys: sent \d+ hostkeys/); // it did announce them
    expect(log).not.toContain('hostkeys-prove-00@openssh.com');
    // Acknowledged at once: sshd, Nagle on for a session without a terminal, would otherwise hold the channel's
    // confirmation for the kernel's delayed ACK (40 ms).
    expect(log).toContain('Received SSH2_MSG_IGNORE');
  });

  it('are handled by ssh2 1.17 as this module expects (its internals, pinned)', () => {
    expect(source('protocol/handlers.js')).toContain('MESSAGE_HANDLERS[type] = handler;');
    expect(source('protocol/handlers.misc.js')).toContain("case 'hostkeys-00@openssh.com': {");
    expect(source('protocol/handlers.misc.js')).toContain('const wantReply = bufferParser.readBool();');
    expect(source('client.js')).toContain("case 'hostkeys-00@openssh.com':");
    expect(source('client.js')).toContain('hostKeysProve(this, data, (err, keys) => {');
    expect(typeof ssh2.Client).toBe('function');
  });
});
