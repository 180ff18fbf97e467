// A held connection's memory (ssh2-memory.ts): connections share one key-exchange offer, and the buffers that live as
// long as the connection own their memory instead of pinning a pool slab. Against a real ssh2 server in process,
// through herd's own connect; and the ssh2 internals relied on, pinned.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import ssh2 from '../../../src/transport/ssh2.js';
import { connectSsh } from '../../../src/transport/connect.js';
import { ownCopy, shareOffer } from '../../../src/transport/ssh2-memory.js';

const require = createRequire(import.meta.url);
const lib = path.dirname(require.resolve('ssh2'));
const source = (file: string): string => fs.readFileSync(path.join(lib, file), 'utf8');

interface Internals {
  _protocol: { _offer: unknown; _remoteIdentRaw: Buffer; _decipher: Record<string, unknown> };
}
const internals = (c: ssh2.Client): Internals['_protocol'] => (c as unknown as Internals)._protocol;

const closers: (() => void)[] = [];
afterAll(() => closers.forEach((c) => c()));

/** An in-process SSH server taking one password, running `echo` for any exec: its port. */
async function sshServer(): Promise<number> {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
  const server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
    conn.on('error', () => {});
    conn.on('authentication', (ctx) =>
      ctx.method === 'password' && ctx.password === 'pw' ? ctx.accept() : ctx.reject(),
    );
    conn.on('session', (accept) =>
      accept().on('exec', (acceptExec, _reject, info) => {
        const ch = acceptExec();
        ch.write(`${info.command}\n`);
        ch.exit(0);
        ch.end();
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

function connect(port: number): Promise<ssh2.Client> {
  return connectSsh({
    host: '127.0.0.1',
    port,
    username: 'u',
    credentials: { keys: [], password: 'pw' },
    connectTimeoutMs: 10_000,
    hostKeyMode: 'off',
    knownEntries: { exact: [], bare: [] },
  });
}

function run(client: ssh2.Client, command: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.exec(command, (err, ch) => {
      if (err) return reject(err);
      let out = '';
      ch.on('data', (d: Buffer) => (out += d.toString()));
      ch.on('close', () => resolve(out));
    }),
  );
}

/** Whether `buf` is a slice of a larger allocation (Node's buffer pool). */
const pooled = (buf: Buffer): boolean => buf.buffer.byteLength !== buf.length;

describe('a held connection', () => {
  it('shares the key-exchange offer of every connection offering the same lists', async () => {
    const port = await sshServer();
    const [a, b] = await Promise.all([connect(port), connect(port)]);
    try {
      expect(internals(a)._offer).toBe(internals(b)._offer);
      expect(await run(b, 'after the handshake')).toBe('after the handshake\n');
    } finally {
      a.end();
      b.end();
    }
  });

  it('keeps its own offer when it offers other lists', () => {
    const offerOf = (serverHostKey: string[]): unknown => {
      const client = new ssh2.Client();
      client.on('error', () => {});
      client.connect({ sock: new PassThrough(), username: 'x', algorithms: { serverHostKey: serverHostKey as never } });
      shareOffer(client);
      return internals(client)._offer;
    };
    const ed = offerOf(['ssh-ed25519', 'rsa-sha2-512']);
    expect(offerOf(['ssh-ed25519', 'rsa-sha2-512'])).toBe(ed);
    expect(offerOf(['rsa-sha2-512', 'ssh-ed25519'])).not.toBe(ed);
  });

  it('pins no pool slab with the buffers it keeps, and reads packets on after they were moved', async () => {
    const port = await sshServer();
    const client = await connect(port);
    try {
      await Promise.resolve();
      const protocol = internals(client);
      expect(pooled(protocol._remoteIdentRaw)).toBe(false);
      expect(protocol._remoteIdentRaw.toString()).toMatch(/^SSH-2\.0-/);
      const kept = ['_tag', '_mac', '_calcMac'].map((k) => protocol._decipher[k]).filter((v) => Buffer.isBuffer(v));
      expect(kept.length).toBeGreaterThan(0);
      for (const buf of kept) expect(pooled(buf)).toBe(false);
      // Several packets each way through the moved tag or MAC: a wrong copy fails their authentication.
      for (let i = 0; i < 3; i++) expect(await run(client, `echo ${i}`)).toBe(`echo ${i}\n`);
    } finally {
      client.end();
    }
  });

  it('ownCopy copies a pool slice and returns a buffer that owns its memory as it is', () => {
    const slice = Buffer.from('small');
    expect(pooled(slice)).toBe(true);
    const own = ownCopy(slice);
    expect(own.equals(slice)).toBe(true);
    expect(pooled(own)).toBe(false);
    expect(ownCopy(own)).toBe(own);
  });
});

describe('the ssh2 internals it relies on', () => {
  it('the offer is built once per Protocol, and key exchange only reads it', () => {
    expect(source('protocol/Protocol.js')).toContain('this._offer = offer;');
    const kex = source('protocol/kex.js');
    expect(kex).not.toMatch(/_offer\s*=[^=]/);
    expect(kex).not.toMatch(/(local|_offer)\.lists(\.\w+)*\s*=[^=]/);
    expect(kex).toContain('localKex = localKex.slice();');
  });

  it('the version line is kept as _remoteIdentRaw; deciphers read their tag and MAC through the property', () => {
    expect(source('protocol/Protocol.js')).toContain('this._remoteIdentRaw = Buffer.from(identRaw);');
    const crypto = source('protocol/crypto.js');
    expect(crypto).toContain('this._tag = Buffer.allocUnsafe(16);');
    expect(crypto).toContain('this._tag.set(data, this._tagPos);');
    expect(crypto).toContain('this._mac.set(data, this._macPos);');
  });
});
