// Time to the first answer (issue 17), a quick probe apart from the bench: `herd run true` on 1 and 5 hosts against
// plain ssh and parallel-ssh with the key exchange herd negotiates, each tool once per round, rounds back to back, so
// the shared machine's load falls on every tool alike. Prints each tool's median wall time and herd's ratios.
// Usage (a fleet from `npm run fleet`, its known_hosts filled): node dist/bench/small-probe.js FLEET_DIR [ROUNDS]
// HERD_BASE=path/to/other/bin/herd adds that herd's rows (`base 1`, `base 5`): before and after, in the same rounds.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [fleetDir, roundsArg] = process.argv.slice(2);
if (fleetDir === undefined) {
  process.stderr.write('usage: small-probe FLEET_DIR [ROUNDS]\n');
  process.exit(2);
}
const rounds = Number(roundsArg ?? 10);
const herd = fileURLToPath(new URL('../../bin/herd', import.meta.url));
const config = path.join(fleetDir, 'ssh_config');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-small-probe-'));
const one = path.join(scratch, 'one.txt');
const five = path.join(scratch, 'five.txt');
fs.writeFileSync(one, '127.0.10.1\n');
fs.writeFileSync(five, [1, 2, 3, 4, 5].map((i) => `127.0.10.${i}\n`).join(''));
// What ssh2 negotiates with OpenSSH (bench/negotiated.ts probes it): the peers do the same work.
const sameKex = [
  '-o KexAlgorithms=curve25519-sha256@libssh.org',
  '-o HostKeyAlgorithms=ssh-ed25519',
  '-o Ciphers=aes128-gcm@openssh.com',
];
const runs = path.join(scratch, 'runs');

const tools: Record<string, string[]> = {
  'ssh 1': ['ssh', '-F', config, ...sameKex.flatMap((o) => o.split(' ')), '127.0.10.1', 'true'],
  'herd 1': [herd, 'run', '-F', config, '-i', one, '-o', runs, 'true'],
  'pssh 5': ['parallel-ssh', '-h', five, '-x', `-F ${config} ${sameKex.join(' ')}`, 'true'],
  'herd 5': [herd, 'run', '-F', config, '-i', five, '-o', runs, 'true'],
};
const base = process.env['HERD_BASE'];
if (base) {
  tools['base 1'] = [base, 'run', '-F', config, '-i', one, '-o', runs, 'true'];
  tools['base 5'] = [base, 'run', '-F', config, '-i', five, '-o', runs, 'true'];
}

const times = new Map<string, number[]>(Object.keys(tools).map((k) => [k, []]));
// The CPU of the tool's whole process tree (user + system), which a loaded machine disturbs less than wall time.
const cpus = new Map<string, number[]>(Object.keys(tools).map((k) => [k, []]));
const cpuFile = path.join(scratch, 'cpu');
for (let r = 0; r < rounds; r++) {
  for (const [name, argv] of Object.entries(tools)) {
    const t0 = process.hrtime.bigint();
    const result = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, ...argv], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (result.status !== 0) throw new Error(`${name} exited ${result.status}: ${result.stderr.toString()}`);
    times.get(name)!.push(s);
    const [user, sys] = fs.readFileSync(cpuFile, 'utf8').trim().split(' ').map(Number);
    cpus.get(name)!.push(user! + sys!);
  }
}
fs.rmSync(scratch, { recursive: true, force: true });

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const med = Object.fromEntries([...times].map(([k, v]) => [k, median(v)]));
for (const [k, v] of Object.entries(med)) {
  process.stdout.write(`${k.padEnd(8)} median ${v.toFixed(3)} s  cpu ${median(cpus.get(k)!).toFixed(2)} s\n`);
}
if (base) {
  const r = (a: string, b: string): string => (med[a]! / med[b]!).toFixed(2);
  process.stdout.write(`base: 1 host ${r('base 1', 'ssh 1')}x ssh, 5 hosts ${r('base 5', 'pssh 5')}x pssh\n`);
}
process.stdout.write(
  `herd 1 / ssh 1 = ${(med['herd 1']! / med['ssh 1']!).toFixed(2)} (target <= 1.25); ` +
    `herd 5 / pssh 5 = ${(med['herd 5']! / med['pssh 5']!).toFixed(2)} (target <= 1.00)\n`,
);
