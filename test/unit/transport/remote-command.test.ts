import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKillReport } from '../../../src/transport/exec.js';
import {
  buildKillCommand,
  buildProbeCommand,
  buildRemoteCommand,
  probeAnswer,
  shellQuote,
  type WrapperForm,
} from '../../../src/transport/remote-command.js';

describe('shell quoting', () => {
  it.each([`plain`, `two words`, `it's`, `$(rm -rf /)`, `a"b`, ``, `back\\slash`, 'new\nline'])(
    'round-trips %j through sh',
    (text) => {
      expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(text)}`]).toString()).toBe(text);
    },
  );
});

describe('remote command wrapping', () => {
  it('runs the command under sh with the job tag in its environment', () => {
    const out = execFileSync('/bin/sh', [
      '-c',
      buildRemoteCommand(`echo "$HERD_JOB"; echo 'quoted'`, 'abc123'),
    ]).toString();
    expect(out).toBe('abc123\nquoted\n');
  });

  // sshd runs the login shell with -c and the text herd sends. A shell that does not exec the last command of
  // its -c text itself (dash) stayed as a process of its own around the command: a fork more on the host for every
  // command, and the one process of the tree without the tag.
  it.each(['/bin/sh', '/bin/dash', '/bin/bash'].filter((sh) => fs.existsSync(sh)))(
    "leaves no %s of its own around the command: the tagged sh takes the login shell's place",
    (loginShell) => {
      const out = execFileSync(loginShell, ['-c', buildRemoteCommand('echo "$PPID"', 'tag1')]).toString();
      expect(Number(out.trim())).toBe(process.pid);
      const sudo = buildRemoteCommand('id', 't1', {});
      expect(sudo.startsWith('exec sudo -n ')).toBe(true);
      expect(buildKillCommand('t1').startsWith('exec /bin/sh -c ')).toBe(true);
    },
  );

  // sshd starts the login shell as argv[0] = its file's last name (`sh` for /bin/sh) with -c and herd's text.
  const FORMS: WrapperForm[] = ['portable', 'posix', 'direct'];
  it.each(FORMS)('the %s form runs the command in sh: the same output, status, error text and tag', (form) => {
    const command = `echo "$0 $HERD_JOB $#"; nosuch-command-x; exit 3`;
    const r = spawnSync('/bin/sh', ['-c', buildRemoteCommand(command, 'abc123', undefined, form)], { argv0: 'sh' });
    expect([r.status, r.stdout.toString(), r.stderr.toString()]).toEqual([
      3,
      'sh abc123 0\n',
      'sh: 1: nosuch-command-x: not found\n',
    ]);
  });

  // `sh -c -v sh` read -v as an option of sh and `sh` as the command: it ran nothing and said nothing.
  it.each(FORMS)('the %s form runs a command that starts with a dash as a command', (form) => {
    for (const command of ['-v', '--version']) {
      const r = spawnSync('/bin/sh', ['-c', buildRemoteCommand(command, 'abc123', undefined, form)], { argv0: 'sh' });
      expect([r.status, r.stderr.toString()]).toEqual([127, `sh: 1: ${command}: not found\n`]);
    }
  });

  it('the direct form is the login shell itself: no process between sshd and the command', () => {
    const child = spawnSync('/bin/sh', ['-c', buildRemoteCommand('echo "$$ $PPID"', 'tag1', undefined, 'direct')], {
      argv0: 'sh',
    });
    const [self, parent] = child.stdout.toString().trim().split(' ').map(Number);
    expect(parent).toBe(process.pid);
    expect(self).toBe(child.pid);
  });

  // The probe as each login shell runs it: the direct form only where the login shell is /bin/sh started as `sh`
  // (what sshd does for a user whose shell is /bin/sh) and is dash; a POSIX shell of another name or binary, or
  // another /bin/sh, gets the posix form. This machine's /bin/sh is dash (Debian's).
  it.each([
    ['/bin/sh', 'sh', 'direct'],
    ['/bin/sh', '/bin/sh', 'posix'],
    ['/bin/sh', 'dash', 'posix'],
    ['/bin/bash', 'bash', 'posix'],
    ['/bin/bash', 'sh', 'posix'],
  ])('the probe, run by %s started as %s, answers %s', (shell, argv0, form) => {
    expect(fs.realpathSync('/bin/sh')).toMatch(/\/dash$/);
    const r = spawnSync(shell, ['-c', buildProbeCommand('t9')], { argv0 });
    expect([r.status, r.stderr.toString()]).toEqual([0, '']);
    expect(probeAnswer('t9', r.stdout.toString())).toBe(form);
  });

  // busybox's sh, as /bin/sh (Alpine): its messages read otherwise with -c text alone than with a name after it.
  it.runIf(fs.existsSync('/bin/busybox'))(
    'the probe, run by busybox sh as /bin/sh started as sh, answers posix',
    () => {
      // Started as `sh`, busybox is its sh.
      const r = spawnSync('/bin/busybox', ['-c', buildProbeCommand('t9')], { argv0: 'sh' });
      expect(probeAnswer('t9', r.stdout.toString())).toBe('posix');
    },
  );

  // A ForceCommand that evals $SSH_ORIGINAL_COMMAND in its own shell: that shell's command line is the
  // ForceCommand's, so a kill could not find it by herd's text, and its messages would name eval.
  it('the probe, evaluated by a ForceCommand in its own sh, answers posix', () => {
    const probe = buildProbeCommand('t9');
    const r = spawnSync('/bin/sh', ['-c', 'logger -t herd-test -- probe 2>/dev/null; eval "$SSH_ORIGINAL_COMMAND"'], {
      argv0: 'sh',
      env: { ...process.env, SSH_ORIGINAL_COMMAND: probe },
    });
    expect([r.status, r.stderr.toString()]).toEqual([0, '']);
    expect(probeAnswer('t9', r.stdout.toString())).toBe('posix');
  });

  it('becomes another account with sudo -u, the name quoted as one word', () => {
    expect(buildRemoteCommand('id', 't1', { user: 'postgres' })).toBe(
      'exec sudo -n -u postgres env HERD_JOB=t1 /bin/sh -c -- id sh',
    );
    expect(buildRemoteCommand('id', 't1', { promptMarker: '[m]:', user: 'backup' })).toBe(
      "exec sudo -S -p '[m]:' -u backup env HERD_JOB=t1 /bin/sh -c -- id sh",
    );
    expect(buildRemoteCommand('id', 't1', {})).toBe('exec sudo -n env HERD_JOB=t1 /bin/sh -c -- id sh');
    // Through sudo the form asked for does not matter: the tag is set after sudo, by env.
    expect(buildRemoteCommand('id', 't1', {}, 'direct')).toBe('exec sudo -n env HERD_JOB=t1 /bin/sh -c -- id sh');
    expect(buildKillCommand('t1', { user: 'backup' })).toMatch(/^exec sudo -n -u backup \/bin\/sh -c /);
  });

  it('builds a kill command that is valid sh and reports a count', () => {
    const out = execFileSync('/bin/sh', ['-c', buildKillCommand('no-such-tag-0000')]).toString();
    expect(out.trim()).toBe('0 0');
  });

  it('kills every tagged process, a backgrounded child too, and reports them verified gone', async () => {
    const tag = `t${process.pid}${Date.now()}`;
    // The real wrapper, as a host would run it: sh with a sleep in the foreground and one in the background.
    const child = spawn('/bin/sh', ['-c', buildRemoteCommand(`sleep 30 & sleep 31; true`, tag)], {
      stdio: 'ignore',
      detached: true,
    });
    const tagged = (): number[] => taggedPids(tag);
    const deadline = Date.now() + 5_000;
    // env execs sh; then sh, sleep 30 and sleep 31 carry the tag.
    while (tagged().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const before = tagged();
    expect(before).toHaveLength(3);
    const out = execFileSync('/bin/sh', ['-c', buildKillCommand(tag)])
      .toString()
      .trim();
    expect(out).toBe(`${before.length} 0`);
    expect(tagged()).toEqual([]);
    child.unref();
  });
  // Under a ForceCommand, sshd gives the kill script SSH_ORIGINAL_COMMAND: its own text, the tag in it. The kill
  // script, and each grep and sed it starts, then had the tag inside its environment: it killed itself and could
  // vouch for nothing.
  it('kills every tagged process, verified gone, where sshd put the kill script in its own environment', async () => {
    const tag = `f${process.pid}${Date.now()}`;
    try {
      await startTagged(`sleep 30 & sleep 31; true`, tag, 3);
      const kill = buildKillCommand(tag);
      const r = spawnSync('/bin/sh', ['-c', kill], { env: { ...process.env, SSH_ORIGINAL_COMMAND: kill } });
      expect(r.stdout.toString().trim()).toBe('3 0');
      expect(taggedPids(tag)).toEqual([]);
    } finally {
      for (const pid of taggedPids(tag)) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('the kill, with the tools a host has', () => {
  /** A directory whose `tools` are `target` (busybox, or a grep that knows no -z), put first on PATH. */
  function pathWith(target: string, tools: string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-tools-'));
    for (const tool of tools) fs.symlinkSync(target, path.join(dir, tool));
    return dir;
  }

  // busybox grep stops reading a line at a NUL: HERD_JOB after the first variable of an environment was not seen,
  // and the kill said "0 0" with every process alive. sshd gives a command many variables before it. Every tool
  // the kill script starts is busybox's here, as on a small host.
  it.runIf(fs.existsSync('/bin/busybox'))(
    "busybox's: finds HERD_JOB past the first variable, kills the command and reports it gone",
    async () => {
      const tag = `b${process.pid}${Date.now()}`;
      const child = spawn('/bin/sh', ['-c', buildRemoteCommand('sleep 30 & sleep 31; true', tag)], {
        stdio: 'ignore',
        detached: true,
        env: { A: 'first', PATH: process.env['PATH'] },
      });
      const bin = pathWith('/bin/busybox', ['grep', 'sed', 'awk', 'cat', 'sleep', 'printf']);
      try {
        const deadline = Date.now() + 5_000;
        while (taggedPids(tag).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(taggedPids(tag)).toHaveLength(3);
        const r = spawnSync('/bin/busybox', ['sh', '-c', buildKillCommand(tag)], {
          env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` },
        });
        expect(r.stdout.toString().trim()).toBe('3 0');
        expect(taggedPids(tag)).toEqual([]);
      } finally {
        for (const pid of taggedPids(tag)) process.kill(pid, 'SIGKILL');
        fs.rmSync(bin, { recursive: true, force: true });
        child.unref();
      }
    },
  );

  // Linux before 4.1 (RHEL 7's 3.10) has no NSsid in /proc/PID/status: the kill still finds and kills what carries
  // the tag. It found nothing, and said "0 0", when it read sessions only.
  it('without NSsid in /proc/PID/status (an older kernel): kills the tagged processes all the same', async () => {
    const tag = `k${process.pid}${Date.now()}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-old-kernel-'));
    const grep = path.join(dir, 'grep');
    // The kill's one grep over /proc/*/status, as such a kernel would answer it: no NSsid lines.
    fs.writeFileSync(
      grep,
      '#!/bin/sh\ncase "$*" in *NSsid*) /bin/grep "$@" | /bin/grep -v "/status:NSsid:"; exit;; esac\nexec /bin/grep "$@"\n',
      { mode: 0o755 },
    );
    try {
      await startTagged(`sleep 30 & sleep 31; true`, tag, 3);
      const r = spawnSync('/bin/sh', ['-c', buildKillCommand(tag)], {
        env: { ...process.env, PATH: `${dir}:${process.env['PATH']}` },
      });
      expect(r.stdout.toString().trim()).toBe('3 0');
      expect(taggedPids(tag)).toEqual([]);
    } finally {
      for (const pid of taggedPids(tag)) process.kill(pid, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // A grep that cannot read NUL-separated files would find nothing and vouch for it: no count is given instead.
  it('a grep without -z: the kill says something no count can be read from', () => {
    const fake = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'herd-fake-grep-')), 'grep');
    fs.writeFileSync(
      fake,
      '#!/bin/sh\ncase " $* " in *" -"*z*) echo "grep: invalid option -- z" >&2; exit 2;; esac\nexec /bin/grep "$@"\n',
      { mode: 0o755 },
    );
    const bin = pathWith(fake, ['grep']);
    try {
      const r = spawnSync('/bin/sh', ['-c', buildKillCommand('no-such-tag-1')], {
        env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` },
      });
      expect(parseKillReport(r.stdout.toString())).toBeNull();
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
      fs.rmSync(path.dirname(fake), { recursive: true, force: true });
    }
  });
});

describe('the kill of what the command started, whatever its environment', () => {
  // ssh-agent makes itself non-dumpable: its environment is then root's to read, not its user's. Found by the tag
  // alone, it was left running while the kill said "verified gone"; it is in the command's session.
  it.runIf(process.getuid?.() === 0)(
    "kills a process whose environment the command's user cannot read, by the command's session",
    async () => {
      const tag = `s${process.pid}${Date.now()}`;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-agent-'));
      fs.chmodSync(dir, 0o777);
      const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
      const agent = `ssh-agent -D -a ${dir}/agent.sock`;
      const command = buildRemoteCommand(`${agent} >/dev/null 2>&1 & sleep 30; true`, tag);
      // Its own session, as sshd gives each command.
      const child = spawn('setpriv', [...asNobody, '/bin/sh', '-c', command], { stdio: 'ignore', detached: true });
      const ours = (): number[] => [...new Set([...taggedPids(tag), ...pidsNaming(agent)])];
      try {
        const deadline = Date.now() + 5_000;
        while (ours().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(ours()).toHaveLength(3);
        const r = spawnSync('setpriv', [...asNobody, '/bin/sh', '-c', buildKillCommand(tag)], { cwd: '/' });
        expect(r.stdout.toString().trim()).toBe('3 0');
        expect(ours()).toEqual([]);
      } finally {
        for (const pid of ours()) process.kill(pid, 'SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
        child.unref();
      }
    },
  );
});

describe('the kill of a setuid process the command started', () => {
  // sudo is setuid root: the command's user cannot read its environment, but may signal it while its real uid is
  // still the user's (as it waits for a password on the command's stdin). Found by the tag alone, it was left
  // waiting while the kill said "verified gone".
  it.runIf(process.getuid?.() === 0 && fs.existsSync('/usr/bin/sudo'))(
    "kills a setuid sudo waiting for its password, by the command's session",
    async () => {
      const tag = `u${process.pid}${Date.now()}`;
      const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
      const command = buildRemoteCommand(`sudo -S -p '' true; true`, tag);
      const child = spawn('setpriv', [...asNobody, '/bin/sh', '-c', command], {
        stdio: ['pipe', 'ignore', 'ignore'],
        detached: true,
      });
      const sudo = (): number[] => pidsNaming(`sudo -S -p  true`);
      try {
        const deadline = Date.now() + 5_000;
        while (sudo().length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(sudo()).toHaveLength(1);
        const r = spawnSync('setpriv', [...asNobody, '/bin/sh', '-c', buildKillCommand(tag)], { cwd: '/' });
        // sh and sudo.
        expect(parseKillReport(r.stdout.toString())).toEqual({ killed: 2, left: 0 });
        expect(sudo()).toEqual([]);
      } finally {
        child.stdin?.end();
        for (const pid of sudo()) process.kill(pid, 'SIGKILL');
        child.unref();
      }
    },
  );
});

describe('the kill, against a process name or a session it cannot trust', () => {
  const root = process.getuid?.() === 0;

  // A process name can hold a newline, and /proc/PID/stat prints it raw: a process of the command named
  // "a<newline><pid> x" made that pid read as a member of the command's session, and the kill signalled it.
  it.runIf(root)("signals no process a name in the command's session points at", async () => {
    const tag = `n${process.pid}${Date.now()}`;
    const victim = spawn('sleep', [`4${process.pid % 1000}1`], { stdio: 'ignore', detached: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-name-'));
    const forged = path.join(dir, `a\n${victim.pid} x`);
    fs.copyFileSync('/bin/sleep', forged);
    fs.chmodSync(forged, 0o755);
    try {
      await startTagged(`${shellQuote(forged)} 30 & sleep 31; true`, tag, 3);
      const r = spawnSync('/bin/sh', ['-c', buildKillCommand(tag)]);
      expect(r.stdout.toString().trim()).toBe('3 0');
      expect(victim.exitCode).toBe(null);
      expect(victim.signalCode).toBe(null);
    } finally {
      victim.kill('SIGKILL');
      for (const pid of taggedPids(tag)) process.kill(pid, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // The session stays the command's once its leader is killed: a member the command's user cannot signal (here
  // another uid's, started in the session before the login shell became the user's) is counted to the end, and
  // the kill says it is still there.
  it.runIf(root)('counts a member it cannot signal after the leader is gone: never "verified gone"', async () => {
    const tag = `m${process.pid}${Date.now()}`;
    const marker = `sleep 5${process.pid % 1000}`;
    const asNobody = '--reuid=65534 --regid=65534 --clear-groups';
    const command = buildRemoteCommand(`sleep 30; true`, tag);
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        `setpriv --reuid=65533 --regid=65533 --clear-groups ${marker}1 & exec setpriv ${asNobody} /bin/sh -c "$0"`,
        command,
      ],
      { stdio: 'ignore', detached: true },
    );
    try {
      const deadline = Date.now() + 5_000;
      while ((taggedPids(tag).length < 2 || pidsNaming(`${marker}1`).length < 1) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const r = spawnSync('setpriv', [...asNobody.split(' '), '/bin/sh', '-c', buildKillCommand(tag)], { cwd: '/' });
      // The tagged sh and its sleep killed; the other uid's sleep left.
      expect(parseKillReport(r.stdout.toString())).toEqual({ killed: 2, left: 1 });
      expect(pidsNaming(`${marker}1`)).toHaveLength(1);
    } finally {
      for (const pid of [...pidsNaming(marker), ...taggedPids(tag)]) process.kill(pid, 'SIGKILL');
      child.unref();
    }
  });
});

describe('the kill, in a session it does not lead', () => {
  // Only a session whose leader is the command's own is the command's: a tagged process in a session led by
  // another (another user's process that copied the tag, in a daemon's session) does not bring that session in.
  it('kills the tagged process alone, and the leader and the rest of its session stay', async () => {
    const tag = `l${process.pid}${Date.now()}`;
    const marker = `sleep 3${process.pid % 1000}`;
    const leader = spawn('/bin/sh', ['-c', `HERD_JOB=${tag} ${marker}1 & ${marker}2; true`], {
      stdio: 'ignore',
      detached: true,
    });
    try {
      const deadline = Date.now() + 5_000;
      while (pidsNaming(marker).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const tagged = taggedPids(tag);
      expect(tagged).toHaveLength(1);
      const r = spawnSync('/bin/sh', ['-c', buildKillCommand(tag)]);
      expect(r.stdout.toString().trim()).toBe('1 0');
      expect(taggedPids(tag)).toEqual([]);
      // The untagged leader (its command line names the markers) and its other sleep.
      expect(pidsNaming(marker)).toHaveLength(2);
      expect(leader.exitCode).toBe(null);
    } finally {
      for (const pid of pidsNaming(marker)) process.kill(pid, 'SIGKILL');
      leader.unref();
    }
  });
});

describe('the kill of a command run by the direct form', () => {
  // The login shell runs the command itself: its environment has no tag (the shell sets it once it runs). A loop of
  // builtins starts nothing with the tag, and a subshell is a fork of the login shell, untagged too.
  it('kills the login shell busy in a loop of builtins, and a subshell it forked, and reports them gone', async () => {
    const tag = `d${process.pid}${Date.now()}`;
    const command = 'while :; do :; done & while :; do :; done';
    const child = spawn('/bin/sh', ['-c', buildRemoteCommand(command, tag, undefined, 'direct')], {
      argv0: 'sh',
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const running = (): number[] => pidsNaming(`HERD_JOB=${tag};`);
    try {
      const deadline = Date.now() + 5_000;
      while (running().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(running()).toHaveLength(2);
      const out = execFileSync('/bin/sh', ['-c', buildKillCommand(tag, undefined, true)])
        .toString()
        .trim();
      expect(out).toBe('2 0');
      expect(await exited).toBe('SIGKILL');
      expect(running()).toEqual([]);
    } finally {
      // Whatever happened above, no busy loop outlives the test.
      for (const pid of running()) process.kill(pid, 'SIGKILL');
    }
  });

  // Any user can read another's command line: one who put the tag there is no process of this command. Its
  // environment cannot be read, so it is neither signalled nor waited for (it would be counted as left, forever).
  it.runIf(process.getuid?.() === 0)("counts no other user's process that names the tag", async () => {
    const tag = `o${process.pid}${Date.now()}`;
    // A group of its own, ended whole below.
    const impostor = spawn('/bin/sh', ['-c', `: HERD_JOB=${tag}; export HERD_JOB; sleep 30`], {
      stdio: 'ignore',
      detached: true,
    });
    try {
      const deadline = Date.now() + 5_000;
      while (pidsNaming(`HERD_JOB=${tag};`).length < 1 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const out = execFileSync('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '/bin/sh',
        '-c',
        buildKillCommand(tag, undefined, true),
      ])
        .toString()
        .trim();
      expect(out).toBe('0 0');
      expect(impostor.exitCode).toBe(null);
    } finally {
      process.kill(-impostor.pid!, 'SIGKILL');
    }
  });
});

/** The command as sshd would start it (in a session of its own), once `count` of its processes carry the tag. */
async function startTagged(command: string, tag: string, count: number): Promise<void> {
  spawn('/bin/sh', ['-c', buildRemoteCommand(command, tag)], { stdio: 'ignore', detached: true }).unref();
  const deadline = Date.now() + 5_000;
  while (taggedPids(tag).length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(taggedPids(tag)).toHaveLength(count);
}

/** Live processes whose command line, its arguments joined by spaces, holds the text. */
function pidsNaming(text: string): number[] {
  return pidsWhose('cmdline', (cmdline) => cmdline.replace(/\0/g, ' ').includes(text));
}

/** Live (not zombie) processes whose environment carries HERD_JOB=tag. */
function taggedPids(tag: string): number[] {
  return pidsWhose('environ', (environ) => environ.split('\0').includes(`HERD_JOB=${tag}`));
}

/** Processes whose /proc file (read as latin1) passes `test`; one that cannot be read does not. */
function pidsWhose(file: 'cmdline' | 'environ', test: (text: string) => boolean): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return test(fs.readFileSync(`/proc/${pid}/${file}`, 'latin1'));
      } catch {
        return false;
      }
    });
}
