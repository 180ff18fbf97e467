// The run directory's files are replaced whole: a reader, or a crash, sees the old content or the new.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replaceSymlink, writeFileAtomic } from '../../../src/results/atomic.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-atomic-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('replaces the content whole, private by default, and leaves no temporary file behind', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'w-'));
    const file = path.join(dir, 'hosts.tsv');
    writeFileAtomic(file, 'old\n');
    const before = fs.statSync(file).ino;
    writeFileAtomic(file, Buffer.from('new\n'));
    expect(fs.readFileSync(file, 'utf8')).toBe('new\n');
    expect(fs.statSync(file).ino).not.toBe(before); // a new file renamed over, never rewritten in place
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    writeFileAtomic(path.join(dir, 'failed.txt'), '', 0o644);
    expect(fs.statSync(path.join(dir, 'failed.txt')).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(fs.readdirSync(dir).sort()).toEqual(['failed.txt', 'hosts.tsv']);
  });

  it('replaces a symlink at the path rather than writing through it', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 's-'));
    const victim = path.join(tmp, 'victim');
    fs.writeFileSync(victim, 'keep');
    fs.symlinkSync(victim, path.join(dir, 'run.json'));
    writeFileAtomic(path.join(dir, 'run.json'), '{}\n');
    expect(fs.lstatSync(path.join(dir, 'run.json')).isFile()).toBe(true);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep');
  });
});

describe('replaceSymlink', () => {
  it('points latest at the new run by a relative name, over the old link, with no temporary left', () => {
    const out = fs.mkdtempSync(path.join(tmp, 'l-'));
    fs.mkdirSync(path.join(out, 'run1'));
    fs.mkdirSync(path.join(out, 'run2'));
    replaceSymlink('run1', path.join(out, 'latest'));
    replaceSymlink('run2', path.join(out, 'latest'));
    expect(fs.readlinkSync(path.join(out, 'latest'))).toBe('run2');
    expect(fs.readdirSync(out).sort()).toEqual(['latest', 'run1', 'run2']);
    // The output directory can move: the link stays right because it is relative.
    fs.renameSync(out, `${out}-moved`);
    expect(fs.realpathSync(path.join(`${out}-moved`, 'latest'))).toBe(
      path.join(fs.realpathSync(`${out}-moved`), 'run2'),
    );
  });
});
