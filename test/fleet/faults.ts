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

/**
 * A TCP server on 127.0.0.1 whose every connection (and any socket it opens on that
 * connection's behalf, via `track`) is destroyed by close().
 */
async function listenFault(onSocket: (socket: net.Socket, track: (s: net.Socket) => void) => void): Promise<Fault> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((socket) => {
    track(socket);
    onSocket(socket, track);
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

/** Accepts TCP connections and never sends a byte: an SSH client must time out waiting for the banner. */
export function silentListener(): Promise<Fault> {
  return listenFault(() => {});
}

/** Sends an SSH banner, then drops the connection as soon as the client starts key exchange. */
export function dropAfterBanner(): Promise<Fault> {
  return listenFault((socket) => {
    socket.write('SSH-2.0-OpenSSH_9.0\r\n');
    socket.once('data', () => socket.destroy());
  });
}

/**
 * A TCP proxy in front of a real sshd that resets the first `failures` connections once the
 * client has started talking (as sshd does when MaxStartups drops a connection), then proxies
 * every later connection through. `accepted()` counts connections seen.
 */
export async function flakyProxy(
  target: { host: string; port: number },
  failures: number,
): Promise<Fault & { accepted: () => number }> {
  let seen = 0;
  const fault = await listenFault((socket, track) => {
    seen++;
    if (seen <= failures) {
      socket.write('SSH-2.0-OpenSSH_9.0\r\n');
      socket.once('data', () => socket.resetAndDestroy());
      return;
    }
    const upstream = net.connect(target.port, target.host);
    track(upstream);
    upstream.on('error', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  return { ...fault, accepted: () => seen };
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
