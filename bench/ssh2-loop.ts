// The reference for herd's controller cost (issue 17): a bare loop of ssh2 clients in one process, the SSH
// library's own work and nothing else: connect with the key, exec the command, close; `--forks` at once.
// Usage: node dist/bench/ssh2-loop.js HOSTS_FILE PORT USER KEY FORKS COMMAND
import fs from 'node:fs';
import { Client } from 'ssh2';

const [hostsFile, port, username, keyPath, forks, command] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write('usage: ssh2-loop HOSTS_FILE PORT USER KEY FORKS COMMAND\n');
  process.exit(2);
}
const hosts = fs.readFileSync(hostsFile!, 'utf8').split('\n').filter(Boolean);
const privateKey = fs.readFileSync(keyPath!);
let next = 0;
let failed = 0;

function one(host: string): Promise<void> {
  return new Promise((resolve) => {
    const client = new Client();
    const done = (ok: boolean): void => {
      if (!ok) failed++;
      client.end();
      resolve();
    };
    client.on('error', () => done(false));
    client.on('ready', () => {
      client.exec(command!, (err, channel) => {
        if (err) return done(false);
        channel.on('data', () => {});
        channel.stderr.on('data', () => {});
        channel.on('close', (code: number | null) => done(code === 0));
      });
    });
    client.connect({ host, port: Number(port), username: username!, privateKey, readyTimeout: 60_000 });
  });
}

async function lane(): Promise<void> {
  while (next < hosts.length) await one(hosts[next++]!);
}

await Promise.all(Array.from({ length: Math.min(Number(forks), hosts.length) }, lane));
process.stderr.write(`${hosts.length - failed} ok, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
