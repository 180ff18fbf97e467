// The changed-host-key reason: fingerprints as ssh prints them (ssh-keygen is the oracle), and a fix
// command an operator can paste into a root shell that removes exactly the named line, whatever the name.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  foldedHostKeyReason,
  hostKeyChangedReason,
  sha256Fingerprint,
  splitHostKeyReason,
  type HostKeyChange,
} from '../../../src/transport/hostkey-reason.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-hostkey-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A real key made by ssh-keygen: its public blob and the fingerprint ssh-keygen -l prints for it. */
function realKey(type: string): { blob: Buffer; fingerprint: string } {
  const file = path.join(tmp, `key-${type}-${Math.random().toString(16).slice(2)}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
  const blob = Buffer.from(fs.readFileSync(`${file}.pub`, 'utf8').split(' ')[1]!, 'base64');
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], {
    encoding: 'utf8',
  }).split(' ')[1]!;
  return { blob, fingerprint };
}

/** A directory with an ssh-keygen that prints its arguments, NUL-terminated. */
function fakeBin(): string {
  const bin = path.join(tmp, 'bin');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'ssh-keygen'), '#!/bin/sh\nprintf \'%s\\0\' "$@"\n', { mode: 0o755 });
  }
  return bin;
}

const change = (over: Partial<HostKeyChange> = {}): HostKeyChange => ({
  offeredType: 'ssh-ed25519',
  offered: Buffer.from('offered'),
  pinnedType: 'ecdsa-sha2-nistp256',
  pinned: Buffer.from('pinned'),
  file: '/root/.ssh/known_hosts',
  line: 3,
  name: 'web1',
  ...over,
});

describe('sha256Fingerprint', () => {
  it.each(['ed25519', 'ecdsa', 'rsa'])('is what ssh-keygen -l prints for a real %s key', (type) => {
    const { blob, fingerprint } = realKey(type);
    expect(sha256Fingerprint(blob)).toBe(fingerprint);
  });
});

describe('the fix command', () => {
  it.each([
    ['web1', '/root/.ssh/known_hosts'],
    ['[10.0.0.1]:2222', '/root/.ssh/known_hosts'],
    ["it's $(touch /tmp/pwned) `id`", '/tmp/my known hosts; rm -rf x'],
    ['*', '/tmp/a b/*'],
  ])('hands ssh-keygen exactly -R %j -f %j through a real shell', (name, file) => {
    const reason = hostKeyChangedReason(change({ name, file }));
    const command = reason.slice(reason.indexOf('fix: ') + 'fix: '.length);
    expect(command.startsWith('ssh-keygen -R ')).toBe(true);
    // The shell runs the pasted text; the ssh-keygen it finds first on PATH prints the words it got.
    const words = execFileSync('sh', ['-c', command], {
      cwd: tmp,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${fakeBin()}:${process.env['PATH']}` },
    });
    expect(words.split('\0').slice(0, -1)).toEqual(['-R', name, '-f', file]);
  });
});

describe('one block per changed key', () => {
  it('hosts with the same change share everything but their line, and fold into one reason', () => {
    const a = hostKeyChangedReason(change({ name: 'web1', line: 7 }));
    const b = hostKeyChangedReason(change({ name: '[web2]:2222', line: 3 }));
    const sa = splitHostKeyReason(a)!;
    const sb = splitHostKeyReason(b)!;
    expect(sa.shared).toBe(sb.shared);
    expect([sa.line, sb.line, sa.file]).toEqual([7, 3, '/root/.ssh/known_hosts']);
    const folded = foldedHostKeyReason(a, [7, 3, 7]);
    expect(folded).toMatch(
      / at \/root\/\.ssh\/known_hosts lines 3, 7; nothing was run; fix: ssh-keygen -R HOST -f \/root\/\.ssh\/known_hosts for each host below$/,
    );
    expect(foldedHostKeyReason(a, [7])).toBe(a);
  });

  it('reads a file name holding a colon and digits, and a quoted host name, back right', () => {
    const reason = hostKeyChangedReason(change({ file: '/srv/kh:12:x', line: 5, name: "a'b" }));
    expect(splitHostKeyReason(reason)).toMatchObject({ line: 5, file: '/srv/kh:12:x' });
    expect(splitHostKeyReason('connection refused')).toBeNull();
  });
});
