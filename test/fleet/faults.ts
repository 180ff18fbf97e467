// Real-socket faults for tests: a refused port, a listener that never speaks, a changed host key.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Fault {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** A port on 127.0.0.1 with nothing listening. */
export async function refusedPort(): Promise<Fault> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { host: '127.0.0.1', port, close: async () => {} };
}

/** Accepts TCP connections and never sends a byte: an SSH client must time out waiting for the banner. */
export async function silentListener(): Promise<Fault> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends an SSH banner, then drops the connection as soon as the client starts key exchange. */
export async function dropAfterBanner(): Promise<Fault> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.write('SSH-2.0-OpenSSH_9.0\r\n');
    socket.once('data', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A TCP proxy in front of a real sshd that resets the first `failures` connections once the
 * client has started talking (as sshd does when MaxStartups drops a connection), then proxies
 * every later connection through. `accepted()` counts connections seen.
 */
export async function flakyProxy(target: { host: string; port: number }, failures: number): Promise<Fault & { accepted: () => number }> {
  const sockets = new Set<net.Socket>();
  let seen = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    seen++;
    if (seen <= failures) {
      socket.write('SSH-2.0-OpenSSH_9.0\r\n');
      socket.once('data', () => socket.resetAndDestroy());
      return;
    }
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('error', () => socket.destroy());
    upstream.on('close', () => sockets.delete(upstream));
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    accepted: () => seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A known_hosts line giving `[host]:port` a different (freshly generated) ed25519 key. */
export function wrongHostKeyLine(host: string, port: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-wrongkey-'));
  try {
    execFileSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-f', path.join(dir, 'k')], { stdio: 'ignore' });
    const [type, key] = fs.readFileSync(path.join(dir, 'k.pub'), 'utf8').trim().split(' ');
    return `[${host}]:${port} ${type} ${key}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
