// Host-key lookups against a hashed known_hosts file, no sshd needed: part of `npm run bench`
// (`--cases=known_hosts` alone), or `node dist/bench/known-hosts.js [--hosts=1000,10000] [--runs=3]`.
// N hosts against an N-entry file, three ways: plain names, hashed by OpenSSH (`ssh-keygen -H`: a
// salt per line) and hashed by herd (HashKnownHosts yes on a run that recorded every host: a salt
// per worker). Each run does what the workers do: every worker builds its index from the file
// and looks up its share of the hosts. CPU time (process.cpuUsage), not wall: the machine may be
// shared. Reports the CPU each hashed file adds over the plain one (median of runs).
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultWorkers } from '../src/defaults.js';
import {
  entriesFor,
  formatKnownHostsLine,
  KnownHostsIndex,
  parseKnownHosts,
  recordingSalt,
  verifyHostKey,
} from '../src/transport/known-hosts.js';

export const KNOWN_HOSTS_CASE = 'known_hosts lookups: plain, hashed by OpenSSH, hashed by herd';
const WORKERS = defaultWorkers();

function sshString(b: Buffer | string): Buffer {
  const body = Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

interface Fleet {
  names: string[];
  keys: Buffer[];
}

function fleet(n: number): Fleet {
  const names: string[] = [];
  const keys: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    // SPKI DER, whose last 32 bytes are the key: not a JWK export, which can deadlock Node 20 under a collection
    // (ExportJWKEdKey allocates holding the key's mutex; a KeyGenJob freed by that collection waits on it). A bench
    // run froze so, before its first line, in this loop.
    const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
    keys.push(Buffer.concat([sshString('ssh-ed25519'), sshString(der.subarray(der.length - 32))]));
    names.push(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  }
  return { names, keys };
}

/** The three files, each holding every host's key once. */
function files(f: Fleet, work: string): Record<'plain' | 'openssh' | 'herd', string> {
  const plain = f.names.map((n, i) => formatKnownHostsLine(n, 22, f.keys[i]!)).join('\n') + '\n';
  const opensshFile = path.join(work, `openssh-${f.names.length}`);
  fs.writeFileSync(opensshFile, plain);
  execFileSync('ssh-keygen', ['-H', '-f', opensshFile], { stdio: 'ignore' });
  // A run with HashKnownHosts yes that met every host first: worker w records host i when i % WORKERS === w.
  const salts = Array.from({ length: WORKERS }, () => recordingSalt([]));
  const herd = f.names.map((n, i) => formatKnownHostsLine(n, 22, f.keys[i]!, salts[i % WORKERS]!)).join('\n') + '\n';
  return { plain, openssh: fs.readFileSync(opensshFile, 'latin1'), herd };
}

/** CPU seconds for every worker to index the file and check its hosts; throws unless every key matches. */
function lookups(f: Fleet, text: string): { cpuS: number; salts: number } {
  const start = process.cpuUsage();
  let matched = 0;
  let salts = 0;
  for (let w = 0; w < WORKERS; w++) {
    const index = new KnownHostsIndex(parseKnownHosts(text));
    salts = index.hashSalts;
    for (let i = w; i < f.names.length; i += WORKERS) {
      if (verifyHostKey(entriesFor(index, f.names[i]!, 22), f.keys[i]!).kind === 'match') matched++;
    }
  }
  const used = process.cpuUsage(start);
  if (matched !== f.names.length) throw new Error(`only ${matched} of ${f.names.length} hosts matched`);
  return { cpuS: (used.user + used.system) / 1e6, salts };
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** Runs the case at each size; returns the Markdown table (rows are printed as they come). */
export function knownHostsBench(sizes: number[], runs: number): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-bench-kh-'));
  const lines = [
    `${KNOWN_HOSTS_CASE}: N hosts against an N-entry file, ${WORKERS} workers, CPU s (median of ${runs}),` +
      ` load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
    '',
    '| hosts | plain CPU s | OpenSSH-hashed CPU s | added | salts | herd-hashed CPU s | added | salts |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  try {
    for (const n of sizes) {
      const f = fleet(n);
      const text = files(f, work);
      const cpu = { plain: [] as number[], openssh: [] as number[], herd: [] as number[] };
      const salts = { openssh: 0, herd: 0 };
      // Interleaved, so drift in the machine's load lands on every file alike.
      for (let r = 0; r < runs; r++) {
        for (const kind of ['plain', 'openssh', 'herd'] as const) {
          const m = lookups(f, text[kind]);
          cpu[kind].push(m.cpuS);
          if (kind !== 'plain') salts[kind] = m.salts;
        }
      }
      const [p, o, h] = [median(cpu.plain), median(cpu.openssh), median(cpu.herd)];
      const row =
        `| ${n} | ${p.toFixed(2)} | ${o.toFixed(2)} | ${(o - p).toFixed(2)} | ${salts.openssh} |` +
        ` ${h.toFixed(2)} | ${(h - p).toFixed(2)} | ${salts.herd} |`;
      lines.push(row);
      process.stdout.write(`${row}\n`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string): string | undefined =>
    process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const table = knownHostsBench((arg('hosts') ?? '1000,10000').split(',').map(Number), Number(arg('runs') ?? 3));
  const outDir = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'), 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'known-hosts.md'), table + '\n');
  process.stdout.write(`\n${table}\nresults: ${path.join(outDir, 'known-hosts.md')}\n`);
}
