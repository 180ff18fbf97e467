import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildKillCommand, buildRemoteCommand, shellQuote } from '../../../src/transport/remote-command.js';

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

  it('becomes another account with sudo -u, the name quoted as one word', () => {
    expect(buildRemoteCommand('id', 't1', { user: 'postgres' })).toBe(
      'exec sudo -n -u postgres env HERD_JOB=t1 /bin/sh -c id',
    );
    expect(buildRemoteCommand('id', 't1', { promptMarker: '[m]:', user: 'backup' })).toBe(
      "exec sudo -S -p '[m]:' -u backup env HERD_JOB=t1 /bin/sh -c id",
    );
    expect(buildRemoteCommand('id', 't1', {})).toBe('exec sudo -n env HERD_JOB=t1 /bin/sh -c id');
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
});

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
