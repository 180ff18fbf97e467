import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findProjectFile, loadConfig, userConfigFile } from '../../../src/cli/config-load.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-config-load-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const write = (rel: string, text = ''): string => {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
};

describe('findProjectFile', () => {
  it('finds herd.yml in the directory or the nearest parent', () => {
    const file = write('a/herd.yml');
    fs.mkdirSync(path.join(root, 'a/b/c'), { recursive: true });
    expect(findProjectFile(path.join(root, 'a/b/c'))).toBe(file);
    expect(findProjectFile(path.join(root, 'a'))).toBe(file);
  });

  it('stops at the repository root: a herd.yml above a checkout is not read', () => {
    write('outer/herd.yml');
    fs.mkdirSync(path.join(root, 'outer/repo/.git/objects'), { recursive: true });
    fs.mkdirSync(path.join(root, 'outer/repo/sub'), { recursive: true });
    expect(findProjectFile(path.join(root, 'outer/repo/sub'))).toBeNull();
    const inRepo = write('outer/repo/herd.yml');
    expect(findProjectFile(path.join(root, 'outer/repo/sub'))).toBe(inRepo);
    // A worktree's .git is a file: the same boundary.
    write('outer/wt/.git', 'gitdir: /elsewhere\n');
    expect(findProjectFile(path.join(root, 'outer/wt'))).toBeNull();
  });

  it('ends at the filesystem root outside any repository, and a directory named herd.yml is not a file', () => {
    fs.mkdirSync(path.join(root, 'd/herd.yml'), { recursive: true });
    expect(findProjectFile(path.join(root, 'd'))).toBe(fs.existsSync('/herd.yml') ? '/herd.yml' : null);
  });
});

describe('userConfigFile', () => {
  it('honours an absolute XDG_CONFIG_HOME, else ~/.config', () => {
    expect(userConfigFile({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/ops')).toBe('/x/cfg/herd/config.yml');
    expect(userConfigFile({ XDG_CONFIG_HOME: 'rel' }, '/home/ops')).toBe('/home/ops/.config/herd/config.yml');
    expect(userConfigFile({}, '/home/ops')).toBe('/home/ops/.config/herd/config.yml');
  });
});

describe('loadConfig', () => {
  it('lays HERD_* over herd.yml over the user file, and lists the files read, lowest first', () => {
    const home = path.join(root, 'home');
    const user = write('home/.config/herd/config.yml', 'forks: 1\nuser: u\ngrace: 3\n');
    const project = write('proj/herd.yml', 'forks: 2\nuser: p\n');
    const got = loadConfig(new Set(['grace']), path.join(root, 'proj'), { HERD_USER: 'e' }, home);
    expect(got.files).toEqual([user, project]);
    expect(Object.fromEntries([...got.settings].map(([k, v]) => [k, v.value]))).toEqual({ forks: '2', user: 'e' });
    expect(got.settings.get('forks')!.origin).toMatchObject({ kind: 'file', display: 'herd.yml', line: 1, column: 8 });
  });
});

describe('trust, as OpenSSH trusts ~/.ssh/config', () => {
  it('refuses a file writable by others or owned by another user; one of yours or root, 0644 or group-writable, is read', () => {
    const dir = path.join(root, 'perm');
    const file = write('perm/herd.yml', 'forks: 3\n');
    const load = () => loadConfig(new Set(), dir, {}, path.join(root, 'nohome'));
    fs.chmodSync(file, 0o644);
    expect(load().settings.get('forks')!.value).toBe('3');
    fs.chmodSync(file, 0o664);
    expect(load().settings.get('forks')!.value).toBe('3');
    fs.chmodSync(file, 0o646);
    expect(load).toThrow(
      "bad owner or permissions on herd.yml (writable by others): it must be yours or root's, not writable by others",
    );
    fs.chmodSync(file, 0o644);
    if (process.getuid?.() === 0) {
      fs.chownSync(file, 65534, 65534);
      expect(load).toThrow('bad owner or permissions on herd.yml (owned by uid 65534)');
    }
  });
});
