// What herd asks of a host's login shell, as the host's sshd receives it: a ForceCommand script records every
// command (SSH_ORIGINAL_COMMAND) and then runs it as the login shell (sh) would. A connection kept between commands
// learns, from one probe when it is first reused, that the login shell takes the shorter posix wrapper (no `env`
// started on the host for each later command); one whose login shell does not (the script plays a csh) keeps the
// portable wrapper. Either way every command's output and status are the same.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet } from '../fleet/fleet.js';
import { readHostsTsv, removeScratchDirs, runHerd, scratchDir, type HerdResult } from './herd-cli.js';

let fleet: Fleet;
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
});
afterAll(async () => {
  await fleet?.stop();
  fs.rmSync(shared, { recursive: true, force: true });
  removeScratchDirs();
});

/** `herd shell` over these hosts with these lines piped in. */
function shell(hosts: string[], lines: string[], runs: string): Promise<HerdResult> {
  const inventory = path.join(home, `${runs}.txt`);
  fs.writeFileSync(inventory, hosts.join('\n') + '\n');
  const args = ['shell', '-i', inventory, '-u', fleet.user, '-p', String(fleet.port), '-k', fleet.keyPath];
  args.push('--known-hosts', path.join(home, 'kh'), '-o', path.join(home, runs));
  return runHerd(args, { input: lines.join('\n') + '\n', cwd: home });
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
  it('a POSIX login shell, herd shell: one probe as its held connections serve the first line, then the posix one', async () => {
    const hosts = fleet.hosts(2, 4700);
    const lines = ['echo one', 'echo two', 'echo three', 'echo four'];
    const r = await shell(hosts, lines, 'posix');
    expect(r.code, r.stderr).toBe(0);
    for (const host of hosts) {
      expect(outputs(r, host)).toEqual(['one\n', 'two\n', 'three\n', 'four\n']);
      const sent = commandsBy(host);
      expect(
        sent.filter((c) => PROBE.test(c)),
        sent.join('\n'),
      ).toHaveLength(1);
      const commands = sent.filter((c) => !PROBE.test(c));
      expect(commands).toHaveLength(4);
      // The shell connects first; the first line reuses the connection and starts the probe, and takes either form
      // (the probe's answer and its own start race); the last goes out long after the answer.
      for (const c of commands) expect([PORTABLE.test(c), POSIX.test(c)]).toContain(true);
      expect(commands[3]).toMatch(POSIX);
      expect(commands[3]!.endsWith(` -c 'echo four'`)).toBe(true);
    }
  });

  it('a POSIX login shell, --persist: no probe for a connection used once; the next command probes, the third is posix', async () => {
    const hosts = fleet.hosts(2, 4720);
    const inventory = path.join(home, 'keeper.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const env = { HOME: home, XDG_RUNTIME_DIR: scratchDir('herd-runtime-') };
    const run = (command: string): Promise<HerdResult> =>
      runHerd(
        [
          'run',
          '-i',
          inventory,
          '-u',
          fleet.user,
          '-p',
          String(fleet.port),
          '-k',
          fleet.keyPath,
          '--known-hosts',
        ].concat([path.join(home, 'kh'), '-o', path.join(home, 'keeper-runs'), '--persist', '30s', command]),
        { cwd: home, env },
      );
    try {
      for (const [i, word] of ['one', 'two', 'three'].entries()) {
        const r = await run(`echo ${word}`);
        expect(r.code, r.stderr).toBe(0);
        for (const host of hosts) {
          const sent = commandsBy(host);
          const commands = sent.filter((c) => !PROBE.test(c));
          expect(commands, sent.join('\n')).toHaveLength(i + 1);
          expect(sent.filter((c) => PROBE.test(c))).toHaveLength(i === 0 ? 0 : 1);
          // The second races its own probe (either form); the first had none, the third comes after its answer.
          if (i === 0) expect(commands[i]).toMatch(PORTABLE);
          else if (i === 2) expect(commands[i]).toMatch(POSIX);
          else expect([PORTABLE.test(commands[i]!), POSIX.test(commands[i]!)]).toContain(true);
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
        expect(sent.filter((c) => PROBE.test(c))).toHaveLength(1);
        const commands = sent.filter((c) => !PROBE.test(c));
        expect(commands).toHaveLength(3);
        for (const c of commands) expect(c).toMatch(PORTABLE);
      }
      const dirs = [...r.stderr.matchAll(/^results: (.+)$/gm)].map((m) => m[1]!.trim());
      for (const dir of dirs)
        for (const host of hosts) expect(fs.readFileSync(path.join(dir, 'stderr', host), 'utf8')).toBe('');
    } finally {
      fs.rmSync(cshFlag, { force: true });
    }
  });
});
