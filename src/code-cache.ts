// How a herd process loads its bundled code (dist/src/bundle/*.cjs): through vm.Script with V8's code cache, so that
// neither the CLI nor a worker compiles its ~1.5 MB / 0.9 MB bundle from source on every start (issue 17). Node 20
// has no module.enableCompileCache and its ES module loader takes no code cache; a CommonJS bundle run as a script
// does. The cache is bytecode that this process will run, as root on an operator's controller: it lives only in the
// user's own private directory, and anything doubtful about it means running without it, never failing a command.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { fileIdentity } from './file-identity.js';
import { beforeV8FlagsChange, v8FlagsChanged } from './v8-flags.js';

/** What starts every cache file, before the key it was made for: a file of another kind or layout is not read. */
const MAGIC = Buffer.from('herd-v8-code-cache-1\n');
/** A code cache is a few MB; anything much larger is not one of ours. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;
/** Entries kept per bundle and V8 flags (one: the current build's); other builds' are removed on each write. */
const KEEP_TOTAL = 16;

/** The directory a cache would live in: $XDG_CACHE_HOME/herd, else ~/.cache/herd (null when there is no home). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const xdg = env['XDG_CACHE_HOME'];
  // The XDG spec: a relative path is invalid and is ignored.
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'herd');
  let home = env['HOME'];
  if (!home) {
    try {
      home = os.homedir();
    } catch {
      return null;
    }
  }
  return home && path.isAbsolute(home) ? path.join(home, '.cache', 'herd') : null;
}

/**
 * The V8 flags that make a code cache unusable when they differ (V8 checks a hash of all its flags, so a cache made
 * with --max-old-space-size=4096 is rejected without it): every Node option this process started with.
 */
function flagsOf(): string {
  return JSON.stringify([process.execArgv, process.env['NODE_OPTIONS'] ?? ''].flat());
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * What the cache key says of the bundle's content, since V8 itself checks only the source's length: the file's
 * identity and change time (ctime, which only the kernel sets: any write, even one that puts the modification time
 * back, moves it), or, for a file changed too recently for its ctime to tell a later write apart, the content's hash.
 */
type BundleIdentity = { stat: fs.BigIntStats } | { content: string };

/**
 * A file whose ctime is within this of the moment it was read is keyed by its content. Timestamps can be coarse (1 s
 * on ext4 with 128-byte inodes and some NFS servers, 2 s on FAT, one clock tick on older kernels): a rewrite of the
 * same size within one step would keep the ctime, and V8 would run the old bytecode against the new source. A file
 * older than this at its read cannot be rewritten later with the same ctime (git's "racily clean" rule).
 */
const SETTLE_NS = 3_000_000_000n;

/**
 * The cache file of a bundle: named by the bundle, its directory and the flags (its slot: one file per slot, the other
 * builds' are removed), then by the key (its content, through its identity). Hashing the content at every start took
 * ~5 ms of each herd process.
 */
function cacheKey(bundleFile: string, identity: BundleIdentity): { slot: string; key: string } {
  const flags = flagsOf();
  // Per installation too: two herds used in turn (an upgrade beside the old one, a checkout and the installed package)
  // would otherwise replace each other's file at every run, and each run compile from source.
  const slot = `${path.basename(bundleFile).replace(/[^\w.-]/g, '_')}-${sha256(`${flags}\0${path.dirname(bundleFile)}`).slice(0, 12)}`;
  const content = 'content' in identity ? ['content', identity.content] : ['file', fileIdentity(identity.stat)];
  const key = sha256(
    JSON.stringify([content, process.version, process.versions.v8, process.arch, process.platform, flags]),
  ).slice(0, 40);
  return { slot, key };
}

/** Ours alone: owned by the effective uid, writable by nobody else. */
function ownedAlone(st: fs.Stats): boolean {
  const euid = process.geteuid?.();
  return euid !== undefined && st.uid === euid && (st.mode & 0o022) === 0;
}

/** The cache directory, created 0700 if missing; null unless it is a real directory of ours alone. */
function usableDir(dir: string): string | null {
  try {
    // One level at a time, never { recursive: true }: Node 20's recursive mkdir never returns under /proc (a home
    // there, or anywhere it meets that error, would hang herd). A home that does not exist is not created.
    // And only inside a directory of ours: `sudo herd` keeps the user's HOME, and a root-owned ~/.cache made there
    // would break the user's own programs.
    for (const d of [path.dirname(dir), dir]) {
      if (fs.existsSync(d)) continue;
      if (fs.lstatSync(path.dirname(d)).uid !== process.geteuid?.()) return null;
      try {
        fs.mkdirSync(d, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return null;
      }
    }
    const st = fs.lstatSync(dir);
    return st.isDirectory() && ownedAlone(st) ? dir : null;
  } catch {
    return null; // a read-only or missing home: no cache
  }
}

/**
 * The paths through a bundle a process ran, besides the start every process runs: `full`, the main path (a command
 * that runs on hosts; every worker); `in-process`, the worker's code in the CLI (engine/in-process-worker.ts). A cache
 * holds the functions that had run when it was written, so one written by a process that ran fewer paths is replaced
 * by the first process that ran more (a run with worker processes writes the CLI's cache without the worker's code;
 * every small run after it would compile that code again).
 */
type BundlePath = 'full' | 'in-process';

/** Paths this process ran that its bundle's loader cannot see (a later module says so: notePath). */
const NOTED = Symbol.for('herd.codeCachePaths');
const noted = (): Set<BundlePath> => ((globalThis as { [NOTED]?: Set<BundlePath> })[NOTED] ??= new Set());

/** This process ran `path` of its bundle: the cache, written at exit, is written again if it lacks it. */
export function notePath(name: BundlePath): void {
  noted().add(name);
}

/** A cache file's first bytes: ours, for this key, and the paths the processes that wrote it ran. */
function header(key: string, paths: ReadonlySet<BundlePath>): Buffer {
  return Buffer.concat([MAGIC, Buffer.from(`${key} ${paths.size === 0 ? 'part' : [...paths].sort().join(',')}\n`)]);
}

function covers(have: ReadonlySet<BundlePath>, want: ReadonlySet<BundlePath>): boolean {
  return [...want].every((p) => have.has(p));
}

/**
 * The V8 data in a cache file, or undefined. The file is opened without following a link and without blocking on a
 * FIFO, then checked on the open descriptor: a regular file of ours alone, of a sane size, made for this key.
 */
function readCache(file: string, key: string): { data: Buffer; paths: Set<BundlePath> } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || !ownedAlone(st) || st.size > MAX_CACHE_BYTES) return undefined;
    const data = fs.readFileSync(fd);
    const start = Buffer.concat([MAGIC, Buffer.from(`${key} `)]);
    const end = data.indexOf(0x0a, start.length);
    if (!data.subarray(0, start.length).equals(start) || end < 0 || end > start.length + 64) return undefined;
    const words = data.subarray(start.length, end).toString('latin1');
    const paths = new Set<BundlePath>();
    if (words !== 'part') {
      for (const word of words.split(',')) {
        if (word !== 'full' && word !== 'in-process') return undefined;
        paths.add(word);
      }
    }
    return end + 1 < data.length ? { data: data.subarray(end + 1), paths } : undefined;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The bundle's source, and its identity (fstat of the descriptor it was read from, or its content's hash when it
 * changed within SETTLE_NS), or null when it changed while it was read (as an upgrade rewrote it in place).
 */
function readBundle(file: string): { source: string; identity: BundleIdentity | null } {
  const readAt = BigInt(Date.now()) * 1_000_000n;
  const fd = fs.openSync(file, 'r');
  try {
    const before = fs.fstatSync(fd, { bigint: true });
    const source = fs.readFileSync(fd, 'utf8');
    const after = fs.fstatSync(fd, { bigint: true });
    if (before.ctimeNs !== after.ctimeNs || before.size !== after.size) return { source, identity: null };
    const settled = after.ctimeNs <= readAt - SETTLE_NS;
    return { source, identity: settled ? { stat: after } : { content: sha256(source) } };
  } finally {
    fs.closeSync(fd);
  }
}

/** A bundle compiled, with what its cache did. */
export interface CompiledBundle {
  /** Runs the bundle as a CommonJS module and returns its exports. */
  run(): unknown;
  /** Whether V8 took the cache: undefined when there was none to offer. */
  readonly rejected: boolean | undefined;
  /** Where the cache is (null: no usable directory, so none). */
  readonly cacheFile: string | null;
  /**
   * Writes the cache when there was none, V8 rejected it, or it came from processes that did not run every path this
   * one did (the main path, the in-process worker: notePath); once. Called after the code ran (the CLI at exit, a
   * worker at its first host_done), so the functions compiled lazily while it ran are in it too. Never throws. Returns
   * whether it wrote.
   */
  save(): boolean;
}

/**
 * Compiles a CommonJS bundle with the code cache under `cacheDir` (null: without one). `full`: this process runs the
 * bundle's main path (a command that runs on hosts; every worker), so its cache replaces one made by, say,
 * `herd --version`, which holds only the functions that ran then.
 */
export function compileBundle(
  bundleFile: string,
  cacheDir: string | null = defaultCacheDir(),
  full = true,
): CompiledBundle {
  const file = path.resolve(bundleFile);
  const { source, identity } = readBundle(file);
  // The same wrapper Node gives a CommonJS module; on one line, so the bundle's own lines keep their numbers.
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  // A bundle that changed while it was read has no identity to key a cache by: this start goes without one.
  const dir = cacheDir === null || identity === null ? null : usableDir(cacheDir);
  const { slot, key } = identity === null ? { slot: '', key: '' } : cacheKey(file, identity);
  const cacheFile = dir === null ? null : path.join(dir, `${slot}-${key}.v8`);
  const cached = cacheFile === null ? undefined : readCache(cacheFile, key);
  const script = new vm.Script(wrapped, { filename: file, ...(cached ? { cachedData: cached.data } : {}) });
  const rejected = cached === undefined ? undefined : script.cachedDataRejected === true;
  // What this process ran: known at save, after the code ran (a later module notes the in-process worker).
  const ran = (): Set<BundlePath> => new Set<BundlePath>([...(full ? ['full' as const] : []), ...noted()]);
  let saved = false;
  return {
    rejected,
    cacheFile,
    run() {
      const fn = script.runInThisContext() as (...args: unknown[]) => void;
      const module = { exports: {} as unknown, filename: file, id: file };
      fn.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
      return module.exports;
    },
    save() {
      const mine = ran();
      if (saved || dir === null || cacheFile === null || (rejected === false && covers(cached!.paths, mine)))
        return false;
      saved = true;
      // Another process of this build (a sibling worker) may have written it meanwhile; a rejected one is replaced.
      if (rejected !== true) {
        const now = readCache(cacheFile, key);
        if (now !== undefined && covers(now.paths, mine)) return false;
      }
      // Taken, the old cache's functions are in this process too: the new one holds both paths.
      const paths = new Set([...mine, ...(rejected === false ? cached!.paths : [])]);
      return writeCache(dir, slot, cacheFile, header(key, paths), script);
    },
  };
}

/** Temp file in the same directory, then rename: a reader sees the old file or the whole new one, never a part. */
function writeCache(dir: string, slot: string, cacheFile: string, head: Buffer, script: vm.Script): boolean {
  const temp = path.join(dir, `.${slot}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const data = Buffer.concat([head, script.createCachedData()]);
    fs.writeFileSync(temp, data, { mode: 0o600, flag: 'wx' });
    fs.renameSync(temp, cacheFile);
  } catch {
    try {
      fs.rmSync(temp, { force: true });
    } catch {
      /* nothing more to do */
    }
    return false;
  }
  prune(dir, slot, path.basename(cacheFile));
  return true;
}

/** Keeps the directory bounded: other builds' files of this slot go, the oldest beyond KEEP_TOTAL, old temp files. */
function prune(dir: string, slot: string, current: string): void {
  try {
    const names = fs.readdirSync(dir);
    // A writer killed between its temp file and the rename (a worker past its exit grace) leaves the temp file.
    const hourAgo = Date.now() - 3_600_000;
    for (const name of names.filter((n) => n.startsWith('.') && n.endsWith('.tmp'))) {
      const file = path.join(dir, name);
      if (fs.lstatSync(file).mtimeMs < hourAgo) fs.rmSync(file, { force: true });
    }
    const entries = names
      .filter((name) => name.endsWith('.v8') && name !== current)
      .map((name) => ({ name, st: fs.lstatSync(path.join(dir, name)) }));
    const stale = entries.filter((e) => e.name.startsWith(`${slot}-`));
    const others = entries.filter((e) => !e.name.startsWith(`${slot}-`)).sort((a, b) => b.st.mtimeMs - a.st.mtimeMs);
    for (const e of [...stale, ...others.slice(KEEP_TOTAL - 1)]) fs.rmSync(path.join(dir, e.name), { force: true });
  } catch {
    /* a cache that stays a little larger is harmless */
  }
}

/**
 * Loads a CommonJS bundle through the code cache and returns its exports; the cache is written as the process exits,
 * when it needs to be (the CLI's way; a worker saves at its first result: engine/worker-entry.ts). `full`: as
 * compileBundle's.
 */
export function loadBundle(bundleFile: string, full = true): unknown {
  const compiled = compileBundle(bundleFile, defaultCacheDir(), full);
  if (compiled.cacheFile !== null) {
    // A process that changes V8's flags as it runs (v8-flags.ts: a run over many hosts) writes its cache just before:
    // after, its flag hash would be one no start has, and a user who runs only large runs would never have a cache.
    beforeV8FlagsChange(() => compiled.save());
    process.once('exit', () => v8FlagsChanged() || compiled.save());
  }
  return compiled.run();
}
