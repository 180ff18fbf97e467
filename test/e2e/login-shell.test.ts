// What herd asks of a host's login shell, as the host's sshd receives it: a ForceCommand script records every
// command (SSH_ORIGINAL_COMMAND) and then runs it as the login shell (sh) would. A connection that runs a second
// command asks first, with one probe, whether the login shell takes the shorter posix wrapper (no `env` started on
// the host for each later command); one whose login shell does not (the script plays a csh) keeps the portable
// wrapper. Either way every command's output and status are the same.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet } from '../fleet/fleet.js';
import { fleetArgs } from './fleet-args.js';
import {
  pidsWith,
  readHostsTsv,
  removeScratchDirs,
  runDirOf,
  runHerd,
  scratchDir,
  type HerdResult,
} from './herd-cli.js';

let fleet: Fleet;
/** The same recorder, on an sshd that allows one session per connection at a time (MaxSessions 1). */
let oneSession: Fleet;
let home: string;
/** Readable and writable by the fleet's login user: the recorder, its log, and the flag that makes it a csh. */
let shared: string;
let log: string;
let cshFlag: string;

const PORTABLE = /^exec env HERD_JOB=[0-9a-f]+ \/bin\/sh -c /;
const POSIX = /^HERD_JOB=[0-9a-f]+ exec \/bin\/sh -c /;
const PROBE = /^HERD_JOB=[0-9a-f]+ exec \/bin\/sh -c 'printf %s "\$HERD_JOB"'$/;

beforeAll(async () => {
  home = scratchDir();
  shared = fs.mkdtempSync('/tmp/herd-login-shell-');
  fs.chmodSync(shared, 0o755);
  log = path.join(shared, 'commands.log');
  fs.writeFileSync(log, '');
  fs.chmodSync(log, 0o666);
  cshFlag = path.join(shared, 'csh');
  const recorder = path.join(shared, 'record');
  fs.writeFileSync(
    recorder,
    [
      '#!/bin/sh',
      'set -- $SSH_CONNECTION',
      `printf '%s|%s\\n' "$3" "$SSH_ORIGINAL_COMMAND" >> ${log}`,
      // A csh has no `NAME=value command`: it says so and fails, before running anything.
      `if [ -e ${cshFlag} ]; then case "$SSH_ORIGINAL_COMMAND" in HERD_JOB=*)`,
      '  echo "${SSH_ORIGINAL_COMMAND%% *}: Command not found." >&2; exit 1;; esac; fi',
      'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const { startFleet } = await import('../fleet/fleet.js');
  fleet = await startFleet({ extraConfig: [`ForceCommand ${recorder}`] });
  oneSession = await startFleet({ opensshLimits: true, extraConfig: ['MaxSessions 1', `ForceCommand ${recorder}`] });
});
afterAll(async () => {
  await fleet?.stop();
  await oneSession?.stop();
  fs.rmSync(shared, { recursive: true, force: true });
  removeScratchDirs();
});

/** `herd shell` over these hosts with these lines piped in. */
function shell(hosts: string[], lines: string[], runs: string, on: Fleet = fleet): Promise<HerdResult> {
  const inventory = path.join(home, `${runs}.txt`);
  fs.writeFileSync(inventory, hosts.join('\n') + '\n');
  return runHerd(['shell', '-i', inventory, ...fleetArgs({ fleet: on, home }, runs)], {
    input: lines.join('\n') + '\n',
    cwd: home,
  });
}

/** Which of herd's wrappers a command sent is (the probe is a posix one of its own). */
function kind(command: string): 'portable' | 'posix' | 'probe' | 'other' {
  if (PROBE.test(command)) return 'probe';
  if (PORTABLE.test(command)) return 'portable';
  return POSIX.test(command) ? 'posix' : 'other';
}

/** What each host's sshd was asked to run, in order. */
function commandsBy(host: string): string[] {
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${host}|`))
    .map((l) => l.slice(host.length + 1));
}

/** Each command's run directory, in order, with each host's stdout there. */
function outputs(result: HerdResult, host: string): string[] {
  return [...result.stderr.matchAll(/^results: (.+)$/gm)].map((m) => {
    const dir = m[1]!.trim();
    expect(readHostsTsv(dir).get(host)?.status).toBe('ok');
    return fs.readFileSync(path.join(dir, 'stdout', host), 'utf8');
  });
}

describe("the wrapper a kept connection learns from the host's login shell", () => {
  it('a POSIX login shell, herd shell: the first line portable, one probe before the second, then the posix one', async () => {
    const hosts = fleet.hosts(2, 4700);
    const r = await shell(hosts, ['echo one', 'echo two', 'echo three'], 'posix');
    expect(r.code, r.stderr).toBe(0);
    for (const host of hosts) {
      expect(outputs(r, host)).toEqual(['one\n', 'two\n', 'three\n']);
      const sent = commandsBy(host);
      expect(sent.map(kind), sent.join('\n')).toEqual(['portable', 'probe', 'posix', 'posix']);
      expect(sent[3]!.endsWith(` -c 'echo three'`)).toBe(true);
    }
  });

  it('a host that allows one session at a time: the probe runs alone, before the command, which still runs', async () => {
    const hosts = oneSession.hosts(2, 4730);
    const r = await shell(hosts, ['echo one', 'echo two', 'echo three'], 'one-session', oneSession);
    expect(r.code, r.stderr).toBe(0);
    for (const host of hosts) {
      expect(outputs(r, host)).toEqual(['one\n', 'two\n', 'three\n']);
      expect(commandsBy(host).map(kind)).toEqual(['portable', 'probe', 'posix', 'posix']);
    }
  });

  it("a host that allows one session at a time: a playbook's steps, each right after the last, all run", async () => {
    const hosts = oneSession.hosts(2, 4740);
    const inventory = path.join(home, 'steps.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const book = path.join(home, 'steps.yml');
    const steps = Array.from({ length: 6 }, (_, i) => `    - name: step ${i + 1}\n      run: echo step-${i + 1}\n`);
    fs.writeFileSync(book, `- name: back to back\n  steps:\n${steps.join('')}`);
    const args = ['play', '-i', inventory, ...fleetArgs({ fleet: oneSession, home }, 'steps-runs'), book];
    const r = await runHerd(args, { cwd: home });
    expect(r.code, r.stderr).toBe(0);
    for (const host of hosts) {
      expect(readHostsTsv(runDirOf(r)).get(host)?.status).toBe('ok');
      expect(commandsBy(host).map(kind)).toEqual(['portable', 'probe', ...Array<string>(5).fill('posix')]);
    }
  });

  it('the posix form keeps the tag: a timed-out command over it is killed on the host, its children too', async () => {
    const hosts = fleet.hosts(2, 4750);
    const marker = `sleep 6${process.pid % 1000}`;
    const r = await shell(hosts, ['echo one', ':timeout 1', `${marker}1 & ${marker}2; true`], 'timeout');
    expect(r.code, r.stderr).not.toBe(0);
    const dirs = [...r.stderr.matchAll(/^results: (.+)$/gm)].map((m) => m[1]!.trim());
    for (const host of hosts) {
      expect(readHostsTsv(dirs[1]!).get(host)?.status).toBe('timeout');
      expect(commandsBy(host).map(kind)).toEqual(['portable', 'probe', 'posix', 'other']);
    }
    expect(pidsWith(`${marker}1`)).toEqual([]);
    expect(pidsWith(`${marker}2`)).toEqual([]);
  });

  it('a POSIX login shell, --persist: no probe for a connection used once; the next command probes first', async () => {
    const hosts = fleet.hosts(2, 4720);
    const inventory = path.join(home, 'keeper.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const env = { HOME: home, XDG_RUNTIME_DIR: scratchDir('herd-runtime-') };
    const run = (command: string): Promise<HerdResult> =>
      runHerd(['run', '-i', inventory, ...fleetArgs({ fleet, home }, 'keeper-runs'), '--persist', '30s', command], {
        cwd: home,
        env,
      });
    const expected = [['portable'], ['portable', 'probe', 'posix'], ['portable', 'probe', 'posix', 'posix']];
    try {
      for (const [i, word] of ['one', 'two', 'three'].entries()) {
        const r = await run(`echo ${word}`);
        expect(r.code, r.stderr).toBe(0);
        for (const host of hosts) {
          expect(fs.readFileSync(path.join(runDirOf(r), 'stdout', host), 'utf8')).toBe(`${word}\n`);
          const sent = commandsBy(host);
          expect(sent.map(kind), sent.join('\n')).toEqual(expected[i]);
        }
      }
    } finally {
      await runHerd(['connections', '--close'], { cwd: home, env });
    }
  });

  it('a login shell that fails the probe (a csh) keeps the portable wrapper, and its answer reaches no output', async () => {
    fs.writeFileSync(cshFlag, '');
    try {
      const hosts = fleet.hosts(2, 4710);
      const r = await shell(hosts, ['echo one', 'echo two', 'echo three'], 'csh');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('Command not found');
      for (const host of hosts) {
        expect(outputs(r, host)).toEqual(['one\n', 'two\n', 'three\n']);
        const sent = commandsBy(host);
        expect(sent.map(kind), sent.join('\n')).toEqual(['portable', 'probe', 'portable', 'portable']);
      }
      const dirs = [...r.stderr.matchAll(/^results: (.+)$/gm)].map((m) => m[1]!.trim());
      for (const dir of dirs)
        for (const host of hosts) expect(fs.readFileSync(path.join(dir, 'stderr', host), 'utf8')).toBe('');
    } finally {
      fs.rmSync(cshFlag, { force: true });
    }
  });
});
