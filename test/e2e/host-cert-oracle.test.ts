// Host certificates held against OpenSSH's own client: sshd presents a certificate made by the real ssh-keygen
// (HostCertificate), and for each case the real `ssh` and herd read the same known_hosts and must reach the same
// verdict. Under accept-new, where a certificate fails, ssh falls back to the plain key and records it; herd
// never records a key whose certificate failed (a documented difference, checked as such).
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackAddress, startFleet, type Fleet, type FleetOptions } from '../fleet/fleet.js';
import { readHostsTsv, removeScratchDirs, runDirOf, runHerd, scratchDir } from './herd-cli.js';

const run = promisify(execFile);

type Verdict = 'accepted' | 'refused' | 'revoked' | 'changed';
type Mode = 'yes' | 'accept-new';
const MODES: Mode[] = ['yes', 'accept-new'];

/** The sshds of the corpus, by what their certificate is. */
type Server = 'good' | 'expired' | 'future' | 'user' | 'anyname' | 'rsa' | 'ecdsa' | 'wildcard' | 'plain';

interface Ctx {
  /** The address the host is reached at (and the name principals must list). */
  address: string;
  /** `[address]:port` for this server. */
  name: string;
  ca: string;
  otherCa: string;
  hostKey: string;
}

interface Case {
  name: string;
  server: Server;
  /** Connect at an address the certificate does not list. */
  unlisted?: boolean;
  known: (c: Ctx) => string;
  /** What herd does instead of ssh under accept-new, and why. */
  acceptNew?: Verdict;
}

const caOnly = (c: Ctx): string => `@cert-authority * ${c.ca}\n`;

const CASES: Case[] = [
  { name: 'valid certificate, CA trusted for every host', server: 'good', known: caOnly },
  {
    name: 'valid certificate, CA line for this [host]:port',
    server: 'good',
    known: (c) => `@cert-authority ${c.name} ${c.ca}\n`,
  },
  { name: 'ecdsa host key certificate', server: 'ecdsa', known: caOnly },
  { name: 'rsa host key certificate (rsa-sha2-512-cert-v01)', server: 'rsa', known: caOnly },
  { name: 'empty principal list (9.2: valid for any name)', server: 'anyname', known: caOnly },
  // 9.2 compares principals literally for host certificates: a pattern lists no host.
  { name: 'wildcard principal', server: 'wildcard', known: caOnly, acceptNew: 'refused' },
  { name: 'name not among the principals', server: 'good', unlisted: true, known: caOnly, acceptNew: 'refused' },
  { name: 'expired', server: 'expired', known: caOnly, acceptNew: 'refused' },
  { name: 'not yet valid', server: 'future', known: caOnly, acceptNew: 'refused' },
  { name: 'user certificate presented as a host certificate', server: 'user', known: caOnly, acceptNew: 'refused' },
  {
    name: 'signed by another CA',
    server: 'good',
    known: (c) => `@cert-authority * ${c.otherCa}\n`,
    acceptNew: 'refused',
  },
  // No CA line applies: no certificate is asked for, and the host is new, as for ssh (accept-new records it).
  { name: 'CA line for other hosts only', server: 'good', known: (c) => `@cert-authority 10.* ${c.ca}\n` },
  { name: 'CA @revoked', server: 'good', known: (c) => `${caOnly(c)}@revoked * ${c.ca}\n` },
  { name: 'host key @revoked', server: 'good', known: (c) => `${caOnly(c)}@revoked * ${c.hostKey}\n` },
  {
    name: 'failed certificate, its plain key pinned',
    server: 'good',
    unlisted: true,
    known: (c) => `${caOnly(c)}${c.name} ${c.hostKey}\n`,
  },
  {
    name: 'failed certificate, another key pinned',
    server: 'expired',
    known: (c) => `${caOnly(c)}${c.name} ${c.otherCa}\n`,
  },
  { name: 'plain key, only a CA line', server: 'plain', known: caOnly, acceptNew: 'refused' },
];

function sshVerdict(code: number, stderr: string): Verdict {
  if (code === 0) return 'accepted';
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) return 'changed';
  if (/REVOKED HOST KEY DETECTED|revoked/i.test(stderr)) return 'revoked';
  if (/Host key verification failed/.test(stderr)) return 'refused';
  throw new Error(`ssh failed in a way this test does not know:\n${stderr}`);
}

function herdVerdict(row: { status: string; reason: string } | undefined): Verdict {
  if (!row) throw new Error('no hosts.tsv row');
  if (row.status === 'ok') return 'accepted';
  if (row.status === 'hostkey_mismatch') return /@revoked/.test(row.reason) ? 'revoked' : 'changed';
  if (row.status === 'hostkey_unknown') return 'refused';
  throw new Error(`unexpected herd result ${row.status}: ${row.reason}`);
}

const pub = (file: string): string => fs.readFileSync(`${file}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');

describe('host certificates against OpenSSH 9.2 (ssh and herd, same known_hosts, same sshd)', () => {
  const fleets = new Map<Server, Fleet>();
  interface Result {
    ssh: Verdict;
    herd: Verdict;
    reason: string;
    before: string;
    bySsh: string;
    byHerd: string;
  }
  const results = new Map<string, Result>();
  let root: string;

  beforeAll(async () => {
    root = scratchDir('herd-host-cert-');
    const ca = path.join(root, 'ca');
    const otherCa = path.join(root, 'other-ca');
    for (const k of [ca, otherCa]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
    const listed = (i: number): string => loopbackAddress(800 + i * 2);
    const servers: Record<Server, FleetOptions> = {
      good: { hostCertificate: { caKey: ca, principals: [listed(0)] } },
      expired: { hostCertificate: { caKey: ca, principals: [listed(1)], validity: '-2d:-1d' } },
      future: { hostCertificate: { caKey: ca, principals: [listed(2)], validity: '+1d:+2d' } },
      user: { hostCertificate: { caKey: ca, principals: [listed(3)], user: true } },
      anyname: { hostCertificate: { caKey: ca, principals: [] } },
      rsa: { hostKeyType: 'rsa', hostCertificate: { caKey: ca, principals: [listed(5)] } },
      ecdsa: { hostKeyType: 'ecdsa', hostCertificate: { caKey: ca, principals: [listed(6)] } },
      wildcard: { hostCertificate: { caKey: ca, principals: ['127.*'] } },
      plain: {},
    };
    const order = Object.keys(servers) as Server[];
    for (const s of order) fleets.set(s, await startFleet(servers[s]));

    for (const mode of MODES) {
      const dir = path.join(root, mode);
      fs.mkdirSync(dir);
      const inventory: string[] = [];
      const blocks: string[] = [];
      const sshRuns: Promise<Verdict>[] = [];
      const knownOf: string[] = [];
      CASES.forEach((c, i) => {
        const fleet = fleets.get(c.server)!;
        const address = loopbackAddress(800 + order.indexOf(c.server) * 2 + (c.unlisted ? 1 : 0));
        const ctx: Ctx = {
          address,
          name: `[${address}]:${fleet.port}`,
          ca: pub(ca),
          otherCa: pub(otherCa),
          hostKey: fleet.hostPublicKey,
        };
        const known = c.known(ctx);
        knownOf.push(known);
        for (const who of ['ssh', 'herd']) fs.writeFileSync(path.join(dir, `${who}-kh-${i}`), known);
        blocks.push(
          `Host c${i}`,
          `  HostName ${address}`,
          `  Port ${fleet.port}`,
          `  User ${fleet.user}`,
          `  IdentityFile ${fleet.keyPath}`,
          '  IdentitiesOnly yes',
          `  UserKnownHostsFile ${path.join(dir, 'WHO-kh-' + i)}`,
          '  GlobalKnownHostsFile none',
          '',
        );
        inventory.push(`c${i}`);
      });
      const config = (who: string): string => {
        const file = path.join(dir, `${who}_config`);
        fs.writeFileSync(file, blocks.join('\n').replaceAll('WHO-kh-', `${who}-kh-`));
        return file;
      };
      const sshConfig = config('ssh');
      const herdConfig = config('herd');
      for (let i = 0; i < CASES.length; i++) {
        const args = ['-F', sshConfig, '-o', 'BatchMode=yes', '-o', `StrictHostKeyChecking=${mode}`, `c${i}`, 'true'];
        sshRuns.push(
          run('ssh', args, { env: { ...process.env, HOME: dir }, timeout: 60_000 }).then(
            () => 'accepted' as Verdict,
            (err: { code: number; stderr: string }) => sshVerdict(err.code, err.stderr),
          ),
        );
      }
      const ssh = await Promise.all(sshRuns);
      const inv = path.join(dir, 'inventory');
      fs.writeFileSync(inv, inventory.join('\n') + '\n');
      const mode_ = mode === 'yes' ? 'strict' : 'accept-new';
      const args = ['run', '-i', inv, '-F', herdConfig, '--host-key-checking', mode_, '-o', path.join(dir, 'runs')];
      const result = await runHerd([...args, 'true'], { env: { HOME: dir }, timeoutMs: 120_000 });
      const rows = readHostsTsv(runDirOf(result));
      CASES.forEach((c, i) => {
        const row = rows.get(`c${i}`);
        results.set(`${c.name} / ${mode}`, {
          ssh: ssh[i]!,
          herd: herdVerdict(row),
          reason: row!.reason,
          before: knownOf[i]!,
          bySsh: fs.readFileSync(path.join(dir, `ssh-kh-${i}`), 'utf8'),
          byHerd: fs.readFileSync(path.join(dir, `herd-kh-${i}`), 'utf8'),
        });
      });
    }
  }, 240_000);

  afterAll(async () => {
    for (const fleet of fleets.values()) await fleet.stop();
    removeScratchDirs();
  });

  for (const mode of MODES) {
    describe(`StrictHostKeyChecking ${mode}`, () => {
      for (const c of CASES) {
        it(c.name, () => {
          const r = results.get(`${c.name} / ${mode}`)!;
          const instead = mode === 'accept-new' ? c.acceptNew : undefined;
          if (instead) {
            // ssh records the certified key as a plain one; herd does not pin past a CA.
            expect(r.ssh, 'ssh accept-new falls back to the plain key').toBe('accepted');
            expect(r.herd, r.reason).toBe(instead);
            expect(r.byHerd, 'known_hosts as herd left it').toBe(r.before);
          } else {
            expect(r.herd, r.reason).toBe(r.ssh);
            expect(r.byHerd, 'known_hosts as herd left it, as ssh left it').toBe(r.bySsh);
          }
        });
      }
    });
  }

  it('says why a certificate was refused', () => {
    const reason = (name: string): string => results.get(`${name} / yes`)!.reason;
    expect(reason('expired')).toMatch(/^host certificate expired \(CA at .*herd-kh-\d+:1\); nothing was recorded$/);
    expect(reason('name not among the principals')).toMatch(/does not list 127\.\S+ among its principals/);
    expect(reason('user certificate presented as a host certificate')).toMatch(/not a host certificate/);
    expect(reason('CA @revoked')).toMatch(/its CA key is marked @revoked in known_hosts \(.*:2\)/);
    expect(reason('plain key, only a CA line')).toMatch(/plain ssh-ed25519 key, not a certificate/);
  });
});
