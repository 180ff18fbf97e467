// Connection errors -> host status, stable code and a one-line reason. Every error here is the real
// one: ssh2's client against real loopback sockets (a closed port, a peer that resets, closes or stays
// silent) and an in-process ssh2 server (rejected auth, no common cipher), and a real failed lookup.
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { classifyConnectError, HostFailure } from '../../../src/transport/failure.js';

const { Client, Server, utils } = ssh2;
const hostKey = utils.generateKeyPairSync('ed25519').private;

const closers: (() => void)[] = [];
afterAll(() => closers.forEach((c) => c()));

/** A loopback listener that does `onSocket` with each connection; its port. */
async function listen(onSocket: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The first error ssh2's client reports for this connection. */
function sshError(config: ssh2.ConnectConfig): Promise<Error> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', (err) => {
      client.end();
      resolve(err);
    });
    client.on('ready', () => {
      client.end();
      reject(new Error('connected'));
    });
    client.connect({ host: '127.0.0.1', username: 'root', password: 'x', ...config });
  });
}

/** An in-process SSH server; `onClient` decides what it does with each client. */
async function sshServer(config: Partial<ssh2.ServerConfig>, onClient: (c: ssh2.Connection) => void): Promise<number> {
  const server = new Server({ hostKeys: [hostKey], ...config }, onClient);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

const shape = (f: HostFailure) => [f.status, f.code, f.message];

describe('socket errors', () => {
  it('a refused TCP connect is unreachable, E_REFUSED, "connection refused"', async () => {
    const err = await sshError({ port: await closedPort() });
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    const f = classifyConnectError(err, 'tcp');
    expect(shape(f)).toEqual(['unreachable', 'E_REFUSED', 'connection refused']);
    expect(f.cause).toBe(err);
    expect(f.transient).toBe(false);
  });

  it('a reset during the banner says so', async () => {
    const port = await listen((s) => s.resetAndDestroy());
    const err = await sshError({ port });
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(shape(classifyConnectError(err, 'banner'))).toEqual([
      'unreachable',
      'E_RESET',
      'connection reset by peer during banner exchange',
    ]);
    expect(classifyConnectError(err, 'handshake').message).toBe('connection reset by peer during key exchange');
    expect(classifyConnectError(err, 'auth').message).toBe('connection reset by peer during authentication');
  });

  it('a name that does not resolve is E_DNS, from the socket and from ssh2 own lookup alike', async () => {
    const viaSocket = await sshError({ host: 'no-such-host.invalid', port: 22 });
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain((viaSocket as NodeJS.ErrnoException).code);
    expect(classifyConnectError(viaSocket, 'tcp').code).toBe('E_DNS');
    const viaLookup = await sshError({ host: 'no-such-host.invalid', port: 22, forceIPv4: true });
    expect(shape(classifyConnectError(viaLookup, 'tcp'))).toEqual(['unreachable', 'E_DNS', 'host name not found']);
  });
});

describe('SSH-level errors', () => {
  it('a server that closes before its banner (sshd past MaxStartups) is E_CLOSED, not a failed key exchange', async () => {
    const port = await listen((s) => s.end());
    const err = await sshError({ port });
    expect(err.message).toBe('Connection lost before handshake');
    expect(shape(classifyConnectError(err, 'banner'))).toEqual([
      'unreachable',
      'E_CLOSED',
      'connection closed by the server before the SSH handshake',
    ]);
  });

  it('a peer that never speaks runs into ssh2 readyTimeout: timed out, naming the phase', async () => {
    const port = await listen(() => {});
    const err = await sshError({ port, readyTimeout: 200 });
    expect(shape(classifyConnectError(err, 'banner'))).toEqual([
      'unreachable',
      'E_CONNECT_TIMEOUT',
      'timed out during banner',
    ]);
  });

  it('rejected authentication is auth_failed, E_AUTH', async () => {
    const port = await sshServer({}, (c) => {
      c.on('authentication', (ctx) => ctx.reject());
      c.on('error', () => {});
    });
    const err = await sshError({ port });
    expect(shape(classifyConnectError(err, 'auth'))).toEqual([
      'auth_failed',
      'E_AUTH',
      'authentication failed (all offered methods were rejected)',
    ]);
  });

  it('no common algorithm is E_HANDSHAKE and keeps ssh2 words', async () => {
    const port = await sshServer({ algorithms: { cipher: ['aes256-gcm@openssh.com'] } }, (c) =>
      c.on('error', () => {}),
    );
    const err = await sshError({ port, algorithms: { cipher: ['aes128-ctr'] } });
    const f = classifyConnectError(err, 'handshake');
    expect([f.status, f.code]).toEqual(['unreachable', 'E_HANDSHAKE']);
    expect(f.message).toBe(`SSH handshake failed: ${err.message}`);
    expect(f.message).toMatch(/cipher/);
  });

  it('a peer that answers with something else than SSH and hangs up is the same close before the handshake', async () => {
    // RFC 4253 lets a server send lines before its SSH- banner, so ssh2 reads the HTTP answer as such.
    const port = await listen((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const err = await sshError({ port });
    expect(shape(classifyConnectError(err, 'banner'))).toEqual([
      'unreachable',
      'E_CLOSED',
      'connection closed by the server before the SSH handshake',
    ]);
  });
});

describe('what classifyConnectError keeps', () => {
  it('a HostFailure passes through as it is (its status, code and transient flag)', () => {
    const original = new HostFailure('hostkey_mismatch', 'E_HOSTKEY_MISMATCH', 'host key changed');
    original.transient = true;
    expect(classifyConnectError(original, 'handshake')).toBe(original);
  });

  it('an errno it has no words for, or a value that is not an Error, is E_CONNECT with the phase and the text', () => {
    const eacces = Object.assign(new Error('connect EACCES 127.0.0.1:22'), { code: 'EACCES' });
    expect(shape(classifyConnectError(eacces, 'tcp'))).toEqual([
      'unreachable',
      'E_CONNECT',
      'connection failed during tcp: connect EACCES 127.0.0.1:22',
    ]);
    expect(classifyConnectError('boom', 'ready').message).toBe('connection failed during ready: boom');
    expect(classifyConnectError(undefined, 'tcp').code).toBe('E_CONNECT');
  });
});
