// A run record as launchRun writes one for `herd run check`: what the tests that drive the real
// RunWriter give it (they write run directories the way the engine does, never by hand).
import type { RunRecord } from '../../../src/results/run-record.js';

export function commandRecord(id: string, hosts: number): RunRecord {
  return {
    id,
    herd_version: '0.1.0',
    command: 'run',
    task: { kind: 'command', command: 'check', timeout_s: 0 },
    user: 'ops',
    controller: 'ctl',
    cwd: '/',
    argv: ['run', 'check'],
    inventory_sources: ['f.txt'],
    limit: null,
    options: {
      user: null,
      port: null,
      keys: [],
      keys_explicit: false,
      password_source: null,
      agent: false,
      forks: 8,
      workers: 1,
      connect_timeout_s: 10,
      known_hosts: 'kh',
      host_key_mode: 'accept-new',
    },
    rerun_of: null,
    state: 'running',
    started_at: '2026-11-27T12:00:00.000Z',
    ended_at: null,
    hosts_total: hosts,
    counts: {},
  };
}
