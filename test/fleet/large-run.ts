// A large run directory written by the real RunWriter, without a fleet: N hosts, mostly ok with one
// output, a few with another (the /dev/sdm system disk), failures with stderr, unreachable hosts
// and a slow tail. For herd report's size benchmark and its 10,000-host test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunRecord } from '../../src/results/run-record.js';
import { RunWriter } from '../../src/results/writer.js';

export const largeRunHost = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** Writes the run under `outDir`; returns its directory. Every 100th host (from the 8th) is unreachable,
 * every 50th (from the 4th) failed, every 200th (from the 12th) printed the minority output. */
export function writeLargeRun(outDir: string, n: number): string {
  const hosts = Array.from({ length: n }, (_, i) => largeRunHost(i));
  const command = 'lsblk -no NAME,SIZE,MOUNTPOINT';
  const record: RunRecord = {
    id: `20261127T120000.000Z-${n}`,
    herd_version: '0.1.0',
    command: 'run',
    task: { kind: 'command', command, timeout_s: 0 },
    user: 'ops',
    controller: os.hostname(),
    cwd: process.cwd(),
    argv: ['run', '-i', 'fleet.txt', command],
    inventory_sources: ['fleet.txt'],
    limit: null,
    options: {
      user: 'ops',
      port: null,
      keys: [],
      keys_explicit: false,
      password_source: null,
      agent: false,
      forks: 256,
      workers: 2,
      connect_timeout_s: 10,
      known_hosts: '~/.ssh/known_hosts',
      host_key_mode: 'accept-new',
    },
    rerun_of: null,
    state: 'running',
    started_at: new Date().toISOString(),
    ended_at: null,
    hosts_total: n,
    counts: {},
  };
  // launchRun creates the run directory (createRunDir) before the writer fills it.
  fs.mkdirSync(path.join(outDir, record.id), { recursive: true, mode: 0o700 });
  const writer = new RunWriter(outDir, record, hosts);
  const usual = Buffer.from('sda 1.8T\n├─sda1 512M /boot/efi\n└─sda2 1.8T /\n');
  hosts.forEach((id, i) => {
    const durationMs = Math.round(300 + (i % 97) * 7 + (i % 1000 === 0 ? 25_000 : 0));
    if (i % 100 === 7) {
      writer.onDone({
        id,
        status: 'unreachable',
        exitCode: null,
        durationMs: 10_000,
        reason: 'timed out after 10s waiting for TCP connect',
      });
      return;
    }
    writer.onPhase(id, 'running');
    if (i % 50 === 3) {
      writer.onOutput(id, 'stderr', Buffer.from('lsblk: /dev/sda: not a block device\n'));
      writer.onDone({ id, status: 'failed', exitCode: 32, durationMs, reason: 'exit code 32' });
      return;
    }
    writer.onOutput(id, 'stdout', i % 200 === 11 ? Buffer.from('sdm 1.8T\n└─sdm1 1.8T /\n') : usual);
    writer.onDone({ id, status: 'ok', exitCode: 0, durationMs, reason: '' });
  });
  writer.finish('done');
  return writer.dir;
}
