// The loader of herd's bundles: V8's code cache in a private directory, reused, rebuilt, and never trusted when
// anyone else could have written it. Real files and real V8; the cache files are the loader's own output.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../src/code-cache.js';

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-code-cache-'));
  scratch.push(dir);
  return dir;
}

/**
 * Each load is its own node process, as each herd process is: within one process V8 finds a script it compiled
 * before in its own compilation cache and never looks at the cache data offered, so only a fresh process shows
 * whether the file was taken.
 */
let child = '';
beforeAll(() => {
  const dir = tempDir();
  // Bundled with what it imports of herd's own (file-identity.ts), as the CLI's entry bundles it.
  buildSync({
    entryPoints: [path.resolve(import.meta.dirname, '../../src/code-cache.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: path.join(dir, 'code-cache.mjs'),
    logLevel: 'silent',
  });
  child = path.join(dir, 'load.mjs');
  fs.writeFileSync(
    child,
    [
      "import { compileBundle, loadBundle, notePath } from './code-cache.mjs';",
      'const [file, dir, how] = process.argv.slice(2);',
      "if (how === 'at-exit') {",
      '  process.stdout.write(JSON.stringify({ exports: loadBundle(file) }));',
      '} else {',
      "  const c = compileBundle(file, dir === 'none' ? null : dir, how !== 'part');",
      '  const exports = c.run();',
      "  if (how === 'in-process') notePath('in-process');",
      '  const saved = c.save();',
      '  const again = c.save();',
      '  process.stdout.write(JSON.stringify({ rejected: c.rejected ?? null, cacheFile: c.cacheFile, exports, saved, again }));',
      '}',
    ].join('\n'),
  );
});

interface Loaded {
  rejected: boolean | null;
  cacheFile: string | null;
  exports: Record<string, unknown>;
  saved: boolean;
  again: boolean;
}

/** Loads `file` with the cache in `cacheDir` (null: none) in a fresh process, runs it, then saves. */
function load(file: string, cacheDir: string | null, env: NodeJS.ProcessEnv = {}, how = 'save'): Loaded {
  const r = spawnSync(process.execPath, [child, file, cacheDir ?? 'none', how], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'], ...env },
  });
  if (r.status !== 0) throw new Error(`loader exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Loaded;
}

/** A CommonJS bundle with enough functions that V8's cache of it is worth having. */
function writeBundle(dir: string, marker = 'one'): string {
  const file = path.join(dir, 'body.cjs');
  const fns = Array.from({ length: 50 }, (_, i) => `function f${i}(x) { return x.map((y) => y * ${i}).join(','); }`);
  fs.writeFileSync(
    file,
    [
      "'use strict';",
      ...fns,
      `exports.marker = '${marker}';`,
      'exports.sum = f1([1, 2]) + f2([3]);',
      'exports.file = __filename;',
      'exports.dir = __dirname;',
      "exports.hasRequire = typeof require('node:path').join === 'function';",
      'exports.strict = (function () { return this === undefined; })();',
      'exports.selfIsExports = this === module.exports;',
    ].join('\n'),
  );
  return file;
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe('compileBundle', () => {
  it('runs the bundle as a CommonJS module: exports, require, __filename, __dirname, strict, this', () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    expect(load(file, null).exports).toEqual({
      marker: 'one',
      sum: '1,2' + '6',
      file,
      dir,
      hasRequire: true,
      strict: true,
      selfIsExports: true,
    });
  });

  it('creates the cache directory 0700 and the file 0600, and the next process takes it (not rejected)', () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    const cacheDir = path.join(dir, 'xdg', 'herd');
    const first = load(file, cacheDir);
    expect(first.rejected).toBeNull(); // nothing to offer V8 yet
    expect([first.saved, first.again]).toEqual([true, false]); // once
    expect(mode(cacheDir)).toBe(0o700);
    expect(fs.readdirSync(cacheDir)).toEqual([path.basename(first.cacheFile!)]);
    expect(mode(first.cacheFile!)).toBe(0o600);
    const before = fs.statSync(first.cacheFile!);

    const second = load(file, cacheDir);
    expect(second.cacheFile).toBe(first.cacheFile);
    expect(second.rejected).toBe(false);
    expect(second.exports['marker']).toBe('one');
    expect(second.saved).toBe(false); // taken: nothing to write
    expect(fs.statSync(first.cacheFile!).mtimeMs).toBe(before.mtimeMs);
  });

  it("replaces, once, a cache written by a process that did not run the main path (herd --version's)", () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    const cacheDir = path.join(dir, 'herd');
    const part = load(file, cacheDir, {}, 'part');
    expect(part.saved).toBe(true);
    expect(load(file, cacheDir, {}, 'part')).toMatchObject({ rejected: false, saved: false });
    const full = load(file, cacheDir);
    expect(full).toMatchObject({ rejected: false, saved: true });
    expect(load(file, cacheDir)).toMatchObject({ rejected: false, saved: false });
    expect(load(file, cacheDir, {}, 'part')).toMatchObject({ rejected: false, saved: false });
    expect(fs.readFileSync(full.cacheFile!, 'latin1')).toMatch(/^herd-v8-code-cache-1\n[0-9a-f]{40} full\n/);
  });

  it('replaces, once, a cache written without the in-process worker by the first process that ran it', () => {
    // A run with worker processes writes the CLI's cache first; a small run after it runs the worker's code in the
    // CLI, which that cache lacks: without a new one, every small run compiled that code again.
    const dir = tempDir();
    const file = writeBundle(dir);
    const cacheDir = path.join(dir, 'herd');
    expect(load(file, cacheDir)).toMatchObject({ saved: true });
    expect(load(file, cacheDir)).toMatchObject({ rejected: false, saved: false });
    const inProcess = load(file, cacheDir, {}, 'in-process');
    expect(inProcess).toMatchObject({ rejected: false, saved: true, again: false });
    expect(fs.readFileSync(inProcess.cacheFile!, 'latin1')).toMatch(
      /^herd-v8-code-cache-1\n[0-9a-f]{40} full,in-process\n/,
    );
    // It holds both paths now: neither kind of process writes it again.
    expect(load(file, cacheDir, {}, 'in-process')).toMatchObject({ rejected: false, saved: false });
    expect(load(file, cacheDir)).toMatchObject({ rejected: false, saved: false });
    expect(load(file, cacheDir, {}, 'part')).toMatchObject({ rejected: false, saved: false });
  });

  it('keeps a cache per installation: the same build in two directories, used in turn, does not replace the other', () => {
    const cacheDir = path.join(tempDir(), 'herd');
    const [a, b] = [tempDir(), tempDir()].map((d) => writeBundle(d));
    expect(load(a!, cacheDir)).toMatchObject({ saved: true });
    expect(load(b!, cacheDir)).toMatchObject({ saved: true });
    expect(load(a!, cacheDir)).toMatchObject({ rejected: false, saved: false });
    expect(load(b!, cacheDir)).toMatchObject({ rejected: false, saved: false });
    expect(fs.readdirSync(cacheDir)).toHaveLength(2);
  });

  it('writes the cache as the process exits (loadBundle), under $XDG_CACHE_HOME/herd', () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    const xdg = path.join(dir, 'xdg');
    expect(load(file, null, { XDG_CACHE_HOME: xdg }, 'at-exit').exports['marker']).toBe('one');
    const [written] = fs.readdirSync(path.join(xdg, 'herd'));
    expect(written).toMatch(/^body\.cjs-[0-9a-f]{12}-[0-9a-f]{40}\.v8$/);
    expect(load(file, path.join(xdg, 'herd')).rejected).toBe(false);
  });

  it('keys the cache by the content: a changed bundle of the same length gets a new file, and the old one goes', () => {
    const dir = tempDir();
    const cacheDir = path.join(dir, 'herd');
    const file = writeBundle(dir, 'one');
    const first = load(file, cacheDir);
    // Same length: V8's own check (the source's length) would take the old cache for the new code.
    writeBundle(dir, 'two');
    const second = load(file, cacheDir);
    expect(second.cacheFile).not.toBe(first.cacheFile);
    expect(second.rejected).toBeNull();
    expect(second.exports['marker']).toBe('two');
    expect(second.saved).toBe(true);
    expect(fs.readdirSync(cacheDir)).toEqual([path.basename(second.cacheFile!)]);
  });

  it('keys a settled bundle by its change time: rewritten with its size and mtime put back, it gets a new key', async () => {
    const dir = tempDir();
    const cacheDir = path.join(dir, 'herd');
    const file = writeBundle(dir, 'one');
    // touch -r copies the times to the nanosecond (fs.utimesSync would round them to the microsecond).
    const times = path.join(dir, 'times');
    fs.writeFileSync(times, '');
    const touch = (from: string, to: string): void => {
      expect(spawnSync('touch', ['-r', from, to]).status).toBe(0);
    };
    touch(file, times);
    // Older than the loader's settling time (3 s), so keyed by its identity, not its content.
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 3_100));
    await settle();
    const first = load(file, cacheDir);
    expect(load(file, cacheDir).rejected).toBe(false);
    // What `touch -r` or an archive extracted with its recorded times leaves: new bytes, the old size and mtime.
    writeBundle(dir, 'two');
    touch(times, file);
    expect(fs.statSync(file, { bigint: true }).mtimeNs).toBe(fs.statSync(times, { bigint: true }).mtimeNs);
    await settle();
    const second = load(file, cacheDir);
    expect(second.cacheFile).not.toBe(first.cacheFile);
    expect(second.rejected).toBeNull();
    expect(second.exports['marker']).toBe('two');
  }, 15_000);

  it('keys a bundle changed in the last 3 s by its content: a coarse clock could give a rewrite the same ctime', () => {
    const dir = tempDir();
    const cacheDir = path.join(dir, 'herd');
    const file = writeBundle(dir, 'one');
    const first = load(file, cacheDir);
    // The same bytes under a new inode, at once: the same content, so the same key, and the cache is taken.
    const copy = path.join(dir, 'copy.cjs');
    fs.copyFileSync(file, copy);
    fs.renameSync(copy, file);
    const again = load(file, cacheDir);
    expect(again.cacheFile).toBe(first.cacheFile);
    expect(again.rejected).toBe(false);
    // Other bytes of the same length, in place, at once: whatever the clock's step, another key and the new code.
    writeBundle(dir, 'two');
    const second = load(file, cacheDir);
    expect(second.cacheFile).not.toBe(first.cacheFile);
    expect(second.exports['marker']).toBe('two');
  });

  it('keys the cache by the V8 flags: a process with other flags gets its own file', () => {
    const dir = tempDir();
    const cacheDir = path.join(dir, 'herd');
    const file = writeBundle(dir);
    const one = load(file, cacheDir, { NODE_OPTIONS: '--max-semi-space-size=1' });
    const sixteen = load(file, cacheDir, { NODE_OPTIONS: '--max-semi-space-size=16' });
    expect(sixteen.cacheFile).not.toBe(one.cacheFile);
    expect(sixteen.rejected).toBeNull();
    expect(load(file, cacheDir, { NODE_OPTIONS: '--max-semi-space-size=1' }).rejected).toBe(false);
    expect(load(file, cacheDir, { NODE_OPTIONS: '--max-semi-space-size=16' }).rejected).toBe(false);
  });

  it('does not use a group-writable directory, nor write into it', () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    const cacheDir = path.join(dir, 'herd');
    fs.mkdirSync(cacheDir);
    fs.chmodSync(cacheDir, 0o770);
    const loaded = load(file, cacheDir);
    expect(loaded.cacheFile).toBeNull();
    expect(loaded.exports['marker']).toBe('one');
    expect(loaded.saved).toBe(false);
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });

  it("does not use a directory another user owns, even one holding this build's cache", () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    const cacheDir = path.join(dir, 'herd');
    load(file, cacheDir);
    fs.chownSync(cacheDir, 65534, 65534);
    const loaded = load(file, cacheDir);
    expect(loaded.cacheFile).toBeNull();
    expect(loaded.rejected).toBeNull();
    expect(loaded.saved).toBe(false);
  });

  it('does not use a symbolic link as the directory', () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    const real = path.join(dir, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    fs.symlinkSync(real, path.join(dir, 'herd'));
    expect(load(file, path.join(dir, 'herd')).cacheFile).toBeNull();
    expect(fs.readdirSync(real)).toEqual([]);
  });

  it('does not take a cache file another user owns, or one others may write, and replaces it with one of ours', () => {
    for (const spoil of [(f: string) => fs.chownSync(f, 65534, 65534), (f: string) => fs.chmodSync(f, 0o622)]) {
      const dir = tempDir();
      const file = writeBundle(dir);
      const cacheDir = path.join(dir, 'herd');
      const made = load(file, cacheDir);
      spoil(made.cacheFile!);
      const loaded = load(file, cacheDir);
      expect(loaded.rejected).toBeNull(); // not even offered to V8
      expect(loaded.saved).toBe(true);
      const st = fs.statSync(made.cacheFile!);
      expect([st.uid, st.mode & 0o777]).toEqual([process.geteuid!(), 0o600]);
      expect(load(file, cacheDir).rejected).toBe(false);
    }
  });

  it('does not follow a symbolic link as the cache file', () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    const cacheDir = path.join(dir, 'herd');
    const made = load(file, cacheDir);
    const aside = path.join(dir, 'aside.v8');
    fs.renameSync(made.cacheFile!, aside);
    fs.symlinkSync(aside, made.cacheFile!);
    expect(load(file, cacheDir).rejected).toBeNull();
  });

  it('ignores a garbage cache file and replaces it: garbage whole, and garbage after a valid header', () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    const cacheDir = path.join(dir, 'herd');
    const made = load(file, cacheDir);
    const cacheFile = made.cacheFile!;
    const good = fs.readFileSync(cacheFile);

    fs.writeFileSync(cacheFile, 'not a cache at all');
    const whole = load(file, cacheDir);
    expect(whole.rejected).toBeNull(); // not ours: never reaches V8
    expect(whole.exports['marker']).toBe('one');
    expect(whole.saved).toBe(true);
    expect(load(file, cacheDir).rejected).toBe(false);

    // Our header, then bytes V8 did not write: V8's own checks reject them, and the file is rewritten.
    const header = good.subarray(0, good.indexOf('\n', good.indexOf('\n') + 1) + 1);
    fs.writeFileSync(cacheFile, Buffer.concat([header, Buffer.alloc(4096, 0x5a)]));
    const spoiled = load(file, cacheDir);
    expect(spoiled.rejected).toBe(true);
    expect(spoiled.exports['marker']).toBe('one');
    expect(spoiled.saved).toBe(true);
    expect(load(file, cacheDir).rejected).toBe(false);
  });

  it("creates nothing inside another user's directory (sudo keeping the user's HOME), and runs without a cache", () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    const home = path.join(dir, 'alice');
    fs.mkdirSync(home, { mode: 0o755 });
    fs.chownSync(home, 65534, 65534);
    const loaded = load(file, null, { HOME: home }, 'at-exit');
    expect(loaded.exports['marker']).toBe('one');
    expect(fs.readdirSync(home)).toEqual([]); // no root-owned ~/.cache
    // Her own ~/.cache, which she owns: no herd directory made in it either.
    fs.mkdirSync(path.join(home, '.cache'));
    fs.chownSync(path.join(home, '.cache'), 65534, 65534);
    expect(load(file, path.join(home, '.cache', 'herd')).cacheFile).toBeNull();
    expect(fs.readdirSync(path.join(home, '.cache'))).toEqual([]);
  });

  it('runs without a cache when the directory cannot be made (a home that is a file, or read-only)', () => {
    const dir = tempDir();
    const file = writeBundle(dir);
    const notADir = path.join(dir, 'home');
    fs.writeFileSync(notADir, '');
    for (const cacheDir of [path.join(notADir, '.cache', 'herd'), '/proc/herd-code-cache-test/herd']) {
      const loaded = load(file, cacheDir);
      expect(loaded.cacheFile).toBeNull();
      expect(loaded.exports['marker']).toBe('one');
      expect(loaded.saved).toBe(false);
    }
  });
});

describe('defaultCacheDir', () => {
  it('is $XDG_CACHE_HOME/herd when that is absolute, else ~/.cache/herd', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/op' })).toBe('/x/cache/herd');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/home/op' })).toBe('/home/op/.cache/herd');
    expect(defaultCacheDir({ HOME: '/home/op' })).toBe('/home/op/.cache/herd');
    expect(defaultCacheDir({ HOME: 'not/absolute' })).toBeNull();
  });
});
