// The reference for herd's controller cost (issue 17): a bare loop of ssh2 clients in one process, the SSH
// library's own work and nothing else: connect with the key, exec the command, close; `--forks` at once.
// Usage: node dist/bench/ssh2-loop.js HOSTS_FILE PORT USER KEY FORKS COMMAND [MAX_HANDSHAKES]
// MAX_HANDSHAKES bounds the handshakes in flight (default: none), so 1,000 sessions can be opened on a loaded
// machine without the sshd's backlog timing them out; the sessions themselves are all held at once.
import fs from 'node:fs';
import { Client } from 'ssh2';

const [hostsFile, port, username, keyPath, forks, command, maxHandshakes] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write('usage: ssh2-loop HOSTS_FILE PORT USER KEY FORKS COMMAND\n');
  process.exit(2);
}
const hosts = fs.readFileSync(hostsFile!, 'utf8').split('\n').filter(Boolean);
const privateKey = fs.readFileSync(keyPath!);
let next = 0;
let failed = 0;
const handshakeLimit = Number(maxHandshakes ?? 0) || Infinity;
let handshaking = 0;
const waiting: (() => void)[] = [];

async function handshakeSlot(): Promise<void> {
  while (handshaking >= handshakeLimit) await new Promise<void>((r) => waiting.push(r));
  handshaking++;
}

function handshakeDone(): void {
  handshaking--;
  waiting.shift()?.();
}

async function one(host: string): Promise<void> {
  await handshakeSlot();
  return new Promise((resolve) => {
    const client = new Client();
    let shaking = true;
    const shaken = (): void => {
      if (shaking) handshakeDone();
      shaking = false;
    };
    const done = (ok: boolean): void => {
      shaken();
      if (!ok) failed++;
      client.end();
      resolve();
    };
    client.on('error', () => done(false));
    client.on('ready', () => {
      shaken();
      client.exec(command!, (err, channel) => {
        if (err) return done(false);
        channel.on('data', () => {});
        channel.stderr.on('data', () => {});
        channel.on('close', (code: number | null) => done(code === 0));
      });
    });
    client.connect({ host, port: Number(port), username: username!, privateKey, readyTimeout: 120_000 });
  });
}

async function lane(): Promise<void> {
  while (next < hosts.length) await one(hosts[next++]!);
}

await Promise.all(Array.from({ length: Math.min(Number(forks), hosts.length) }, lane));
process.stderr.write(`${hosts.length - failed} ok, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
