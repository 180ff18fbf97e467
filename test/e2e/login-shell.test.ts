// What herd asks of a host's login shell, as the host's sshd receives it: a ForceCommand script records every
// command (SSH_ORIGINAL_COMMAND) and then runs it as the login shell would: sh (/bin/sh started as `sh`, as sshd
// starts it), or, as a flag file asks, bash or a csh. A connection that runs a second command asks first, with one
// probe, which shorter wrapper the login shell takes: direct (sh runs the command itself: no program started on the
// host before it), posix (bash: no `env`); a csh keeps the portable wrapper. Every command's output and status are
// the same in each.
import type { ChildProcess } from 'node:child_process';
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
let bashFlag: string;
/** When it exists, the probe never answers: the host runs a tagged sleep of as many seconds as the file says. */
let hangFlag: string;

const PORTABLE = /^exec env HERD_JOB=[0-9a-f]+ \/bin\/sh -c /;
const POSIX = /^HERD_JOB=[0-9a-f]+ exec \/bin\/sh -c /;
const PROBE = /^HERD_JOB=[0-9a-f]+; export HERD_JOB; \{ \[ "\$0" = sh \] && /;
const DIRECT = /^HERD_JOB=[0-9a-f]+; export HERD_JOB; /;

beforeAll(async () => {
  home = scratchDir();
  shared = fs.mkdtempSync('/tmp/herd-login-shell-');
  fs.chmodSync(shared, 0o755);
  log = path.join(shared, 'commands.log');
  fs.writeFileSync(log, '');
  fs.chmodSync(log, 0o666);
  cshFlag = path.join(shared, 'csh');
  bashFlag = path.join(shared, 'bash');
  hangFlag = path.join(shared, 'hang');
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
      `if [ -e ${bashFlag} ]; then exec /bin/bash -c "$SSH_ORIGINAL_COMMAND"; fi`,
      `if [ -e ${hangFlag} ]; then case "$SSH_ORIGINAL_COMMAND" in 'HERD_JOB='*'; export HERD_JOB; { ['*)`,
      '  t=${SSH_ORIGINAL_COMMAND#HERD_JOB=}; t=${t%%;*}',
      `  HERD_JOB=$t exec sleep "$(cat ${hangFlag})";; esac; fi`,
      // As sshd starts a login shell: by its file's last name (sh, found on PATH as /usr/bin/sh or /bin/sh).
      'exec sh -c "$SSH_ORIGINAL_COMMAND"',
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
function shell(
  hosts: string[],
  lines: string[],
  runs: string,
  on: Fleet = fleet,
  onSpawn?: (child: ChildProcess) => void,
): Promise<HerdResult> {
  const inventory = path.join(home, `${runs}.txt`);
  fs.writeFileSync(inventory, hosts.join('\n') + '\n');
  return runHerd(['shell', '-i', inventory, ...fleetArgs({ fleet: on, home }, runs)], {
    input: lines.join('\n') + '\n',
    cwd: home,
    ...(onSpawn ? { onSpawn } : {}),
  });
}

/** Which of herd's wrappers a command sent is (the probe is a posix one of its own). */
function kind(command: string): 'portable' | 'posix' | 'direct' | 'probe' | 'other' {
  if (PROBE.test(command)) return 'probe';
  if (PORTABLE.test(command)) return 'portable';
  if (DIRECT.test(command)) return 'direct';
  return POSIX.test(command) ? 'posix' : 'other';
}

/** While `fn` runs, the recorder plays the login shell the flag file names (or hangs the probe: hangFlag). */
async function withFlag<T>(flag: string, fn: () => Promise<T>, content = ''): Promise<T> {
  fs.writeFileSync(flag, content);
  try {
    return await fn();
  } finally {
    fs.rmSync(flag, { force: true });
  }
}

/** What each host's sshd was asked to run, in order. */
function commandsBy(host: string): string[] {
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${host}|`))
    .map((l) => l.slice(host.length + 1));
}

/** No process whose command line holds `text` is left, within a few seconds (a kill runs as its own command). */
async function waitGone(text: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (pidsWith(text).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(pidsWith(text)).toEqual([]);
}

/** Each command's run directory, in order. */
function runDirs(result: HerdResult): string[] {
  return [...result.stderr.matchAll(/^results: (.+)$/gm)].map((m) => m[1]!.trim());
}

/**
 * The second command of a shell (`:timeout 1` before it) timed out on each host over `form`: `killed` processes
 * killed on the host and verified gone (the kill is the one command of none of herd's wrappers).
 */
function expectKilled(r: HerdResult, hosts: string[], killed: number, form: 'direct' | 'posix'): void {
  expect(r.code, r.stderr).not.toBe(0);
  const dirs = runDirs(r);
  for (const host of hosts) {
    expect(readHostsTsv(dirs[1]!).get(host)).toMatchObject({
      status: 'timeout',
      reason: expect.stringContaining(`remote processes killed: ${killed} (verified gone)`) as unknown,
    });
    expect(commandsBy(host).map(kind)).toEqual(['portable', 'probe', form, 'other']);
  }
}

/** Each command's run directory, in order, with each host's stdout there. */
function outputs(result: HerdResult, host: string): string[] {
  return runDirs(result).map((dir) => {
    expect(readHostsTsv(dir).get(host)?.status).toBe('ok');
    return fs.readFileSync(path.join(dir, 'stdout', host), 'utf8');
  });
}

describe("the wrapper a kept connection learns from the host's login shell", () => {
  it('login shell sh, herd shell: the first line portable, one probe before the second, then the direct one', async () => {
    const hosts = fleet.hosts(2, 4700);
    const r = await shell(hosts, ['echo one', 'echo "two $0"', 'echo three'], 'direct');
    expect(r.code, r.stderr).toBe(0);
    for (const host of hosts) {
      expect(outputs(r, host)).toEqual(['one\n', 'two sh\n', 'three\n']);
      const sent = commandsBy(host);
      expect(sent.map(kind), sent.join('\n')).toEqual(['portable', 'probe', 'direct', 'direct']);
      expect(sent[3]!.endsWith(`; export HERD_JOB; echo three`)).toBe(true);
    }
  });

  it('login shell bash (POSIX, not /bin/sh): the posix one after the probe', async () => {
    const hosts = fleet.hosts(2, 4705);
    const r = await withFlag(bashFlag, () => shell(hosts, ['echo one', 'echo "two $0"', 'echo three'], 'posix'));
    expect(r.code, r.stderr).toBe(0);
    for (const host of hosts) {
      expect(outputs(r, host)).toEqual(['one\n', 'two sh\n', 'three\n']);
      const sent = commandsBy(host);
      expect(sent.map(kind), sent.join('\n')).toEqual(['portable', 'probe', 'posix', 'posix']);
      expect(sent[3]!.endsWith(` -c -- 'echo three' sh`)).toBe(true);
    }
  });

  it('a host that allows one session at a time: the probe runs alone, before the command, which still runs', async () => {
    const hosts = oneSession.hosts(2, 4730);
    const r = await shell(hosts, ['echo one', 'echo two', 'echo three'], 'one-session', oneSession);
    expect(r.code, r.stderr).toBe(0);
    for (const host of hosts) {
      expect(outputs(r, host)).toEqual(['one\n', 'two\n', 'three\n']);
      expect(commandsBy(host).map(kind)).toEqual(['portable', 'probe', 'direct', 'direct']);
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
      expect(commandsBy(host).map(kind)).toEqual(['portable', 'probe', ...Array<string>(5).fill('direct')]);
    }
  });

  // The direct form's login shell has no tag in its environment: the kill finds it by its command line. A loop of
  // builtins starts no process at all, and its subshell is a fork of the login shell.
  it('the direct form: a timed-out command is killed on the host, the login shell itself and every child', async () => {
    const hosts = fleet.hosts(2, 4750);
    const marker = `sleep 6${process.pid % 1000}`;
    const command = `${marker}1 & ${marker}2 & while :; do :; done & while :; do :; done`;
    const r = await shell(hosts, ['echo one', ':timeout 1', command], 'timeout');
    // The login shell, its subshell and the two sleeps.
    expectKilled(r, hosts, 4, 'direct');
    // Each sleep, and each shell whose command line names them (the login shell and its subshell).
    expect(pidsWith(marker)).toEqual([]);
  });

  it('the posix form keeps the tag: a timed-out command over it is killed on the host, its children too', async () => {
    const hosts = fleet.hosts(2, 4755);
    const marker = `sleep 7${process.pid % 1000}`;
    const r = await withFlag(bashFlag, () =>
      shell(hosts, ['echo one', ':timeout 1', `${marker}1 & ${marker}2; true`], 'timeout-posix'),
    );
    // sh and its two sleeps. Each kill went through the recorder, this script in SSH_ORIGINAL_COMMAND.
    expectKilled(r, hosts, 3, 'posix');
    expect(pidsWith(`${marker}1`)).toEqual([]);
    expect(pidsWith(`${marker}2`)).toEqual([]);
  });

  it('login shell sh, --persist: no probe for a connection used once; the next command probes first', async () => {
    const hosts = fleet.hosts(2, 4720);
    const inventory = path.join(home, 'keeper.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const env = { HOME: home, XDG_RUNTIME_DIR: scratchDir('herd-runtime-') };
    const run = (command: string): Promise<HerdResult> =>
      runHerd(['run', '-i', inventory, ...fleetArgs({ fleet, home }, 'keeper-runs'), '--persist', '30s', command], {
        cwd: home,
        env,
      });
    const expected = [['portable'], ['portable', 'probe', 'direct'], ['portable', 'probe', 'direct', 'direct']];
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

  it('a probe that never answers: 5 s later the portable form stays, and the probe is killed on the host', async () => {
    const [host] = fleet.hosts(1, 4760) as [string];
    const secs = `61${process.pid % 1000}`;
    const r = await withFlag(hangFlag, () => shell([host], ['echo one', 'echo two', 'echo three'], 'hang'), secs);
    expect(r.code, r.stderr).toBe(0);
    expect(outputs(r, host)).toEqual(['one\n', 'two\n', 'three\n']);
    expect(r.durationMs).toBeGreaterThanOrEqual(5_000);
    const sent = commandsBy(host).map(kind);
    // The kill of the probe's processes is the one command of none of herd's wrappers.
    expect(sent.filter((k) => k !== 'other')).toEqual(['portable', 'probe', 'portable', 'portable']);
    expect(sent.filter((k) => k === 'other')).toHaveLength(1);
    await waitGone(`sleep ${secs}`);
  });

  it('a stop while the probe runs ends it at once: its processes are killed, and the next line runs', async () => {
    const [host] = fleet.hosts(1, 4765) as [string];
    const secs = `62${process.pid % 1000}`;
    const r = await withFlag(
      hangFlag,
      () =>
        shell([host], ['echo one', 'echo two', 'echo three'], 'hang-stop', fleet, (child) => {
          const poll = setInterval(() => {
            if (!commandsBy(host).map(kind).includes('probe')) return;
            clearInterval(poll);
            child.kill('SIGINT');
          }, 20);
          child.once('close', () => clearInterval(poll));
        }),
      secs,
    );
    // Well within the probe's 5 s bound.
    expect(r.durationMs, r.stderr).toBeLessThan(4_500);
    const dirs = runDirs(r);
    expect(dirs).toHaveLength(3);
    expect(readHostsTsv(dirs[1]!).get(host)?.status).toBe('interrupted');
    expect(readHostsTsv(dirs[2]!).get(host)?.status).toBe('ok');
    expect(fs.readFileSync(path.join(dirs[2]!, 'stdout', host), 'utf8')).toBe('three\n');
    await waitGone(`sleep ${secs}`);
  });

  it('a login shell that fails the probe (a csh) keeps the portable wrapper, and its answer reaches no output', async () => {
    await withFlag(cshFlag, async () => {
      const hosts = fleet.hosts(2, 4710);
      const r = await shell(hosts, ['echo one', 'echo two', 'echo three'], 'csh');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('Command not found');
      for (const host of hosts) {
        expect(outputs(r, host)).toEqual(['one\n', 'two\n', 'three\n']);
        const sent = commandsBy(host);
        expect(sent.map(kind), sent.join('\n')).toEqual(['portable', 'probe', 'portable', 'portable']);
      }
      const dirs = runDirs(r);
      for (const dir of dirs)
        for (const host of hosts) expect(fs.readFileSync(path.join(dir, 'stderr', host), 'utf8')).toBe('');
    });
  });
});
