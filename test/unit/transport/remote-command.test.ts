import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
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

  it('the direct form is the login shell itself: no process between sshd and the command', () => {
    const child = spawnSync('/bin/sh', ['-c', buildRemoteCommand('echo "$$ $PPID"', 'tag1', undefined, 'direct')], {
      argv0: 'sh',
    });
    const [self, parent] = child.stdout.toString().trim().split(' ').map(Number);
    expect(parent).toBe(process.pid);
    expect(self).toBe(child.pid);
  });

  // The probe as each login shell runs it: the direct form only where the login shell is /bin/sh started as `sh`
  // (what sshd does for a user whose shell is /bin/sh); a POSIX shell of another name or binary gets the posix form.
  it.each([
    ['/bin/sh', 'sh', 'direct'],
    ['/bin/sh', '/bin/sh', 'posix'],
    ['/bin/sh', 'dash', 'posix'],
    ['/bin/bash', 'bash', 'posix'],
    ...(fs.realpathSync('/bin/sh') === fs.realpathSync('/bin/bash') ? [] : [['/bin/bash', 'sh', 'posix']]),
  ])('the probe, run by %s started as %s, answers %s', (shell, argv0, form) => {
    const r = spawnSync(shell, ['-c', buildProbeCommand('t9')], { argv0 });
    expect([r.status, r.stderr.toString()]).toEqual([0, '']);
    expect(probeAnswer('t9', r.stdout.toString())).toBe(form);
  });

  it('becomes another account with sudo -u, the name quoted as one word', () => {
    expect(buildRemoteCommand('id', 't1', { user: 'postgres' })).toBe(
      'exec sudo -n -u postgres env HERD_JOB=t1 /bin/sh -c id sh',
    );
    expect(buildRemoteCommand('id', 't1', { promptMarker: '[m]:', user: 'backup' })).toBe(
      "exec sudo -S -p '[m]:' -u backup env HERD_JOB=t1 /bin/sh -c id sh",
    );
    expect(buildRemoteCommand('id', 't1', {})).toBe('exec sudo -n env HERD_JOB=t1 /bin/sh -c id sh');
    // Through sudo the form asked for does not matter: the tag is set after sudo, by env.
    expect(buildRemoteCommand('id', 't1', {}, 'direct')).toBe('exec sudo -n env HERD_JOB=t1 /bin/sh -c id sh');
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
    const child = spawn('/bin/sh', ['-c', buildRemoteCommand(`sleep 30 & sleep 31; true`, tag)], {
      stdio: 'ignore',
      detached: true,
    });
    try {
      const deadline = Date.now() + 5_000;
      while (taggedPids(tag).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(taggedPids(tag)).toHaveLength(3);
      const kill = buildKillCommand(tag);
      const r = spawnSync('/bin/sh', ['-c', kill], { env: { ...process.env, SSH_ORIGINAL_COMMAND: kill } });
      expect(r.stdout.toString().trim()).toBe('3 0');
      expect(taggedPids(tag)).toEqual([]);
    } finally {
      for (const pid of taggedPids(tag)) process.kill(pid, 'SIGKILL');
      child.unref();
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
      const out = execFileSync('/bin/sh', ['-c', buildKillCommand(tag)])
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
    const impostor = spawn('/bin/sh', ['-c', `: HERD_JOB=${tag}; export HERD_JOB; sleep 30`], { stdio: 'ignore' });
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
        buildKillCommand(tag),
      ])
        .toString()
        .trim();
      expect(out).toBe('0 0');
      expect(impostor.exitCode).toBe(null);
    } finally {
      impostor.kill('SIGKILL');
    }
  });
});

/** Live processes whose command line holds the text. */
function pidsNaming(text: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(text);
      } catch {
        return false;
      }
    });
}

/** Live (not zombie) processes whose environment carries HERD_JOB=tag. */
function taggedPids(tag: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`HERD_JOB=${tag}`);
      } catch {
        return false;
      }
    });
}
