// herd's processes load their bundled code through V8's code cache (src/code-cache.ts): the CLI and its workers
// keep it in the user's private cache directory, write it once and take it after; without a writable home they
// run as before, without one.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fleetArgs, writeInventory } from './fleet-args.js';
import { readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

/** Each cache file under `dir`: its name, mode, inode and modification time. */
function cacheFiles(dir: string): { name: string; mode: number; ino: number; mtimeMs: number }[] {
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => {
      const st = fs.statSync(path.join(dir, name));
      return { name, mode: st.mode & 0o777, ino: st.ino, mtimeMs: st.mtimeMs };
    });
}

describe('the code cache of the CLI and its workers', () => {
  it('is written once under $XDG_CACHE_HOME/herd (0700, files 0600) and taken by the next run', async () => {
    const xdg = path.join(scratchDir('herd-xdg-'), 'cache');
    const hosts = scope.fleet.hosts(2, 300);
    const inv = writeInventory(scope, 'cache.txt', hosts);
    const env = { HOME: scope.home, XDG_CACHE_HOME: xdg };
    // -w 1: a worker process (two hosts alone would run in herd's own process).
    const first = await runHerd(['run', '-i', inv, ...fleetArgs(scope, 'runs-cache'), '-w', '1', 'true'], { env });
    expect(first.stderr).toContain('2 hosts: 2 ok');
    const dir = path.join(xdg, 'herd');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const written = cacheFiles(dir);
    // One for the CLI (main.cjs), one for the worker (worker.cjs): the worker loads through the cache too.
    expect(written.map((f) => f.name)).toEqual([
      expect.stringMatching(/^main\.cjs-[0-9a-f]{12}-[0-9a-f]{40}\.v8$/),
      expect.stringMatching(/^worker\.cjs-[0-9a-f]{12}-[0-9a-f]{40}\.v8$/),
    ]);
    expect(written.map((f) => f.mode)).toEqual([0o600, 0o600]);

    // A cache is rewritten only when it was missing or V8 rejected it: the same files, untouched, were taken.
    const second = await runHerd(['run', '-i', inv, ...fleetArgs(scope, 'runs-cache'), '-w', '1', 'true'], { env });
    expect(second.stderr).toContain('2 hosts: 2 ok');
    expect(cacheFiles(dir)).toEqual(written);
  });

  it('is written by a run over 256 hosts too, before it keeps its young generation small', async () => {
    // Such a run sets a V8 flag as its first pass starts (src/v8-flags.ts); a cache written after that carries a flag
    // hash no start has, so it is written just before. Without it, one who runs only large runs never had a cache.
    const xdg = path.join(scratchDir('herd-xdg-'), 'cache');
    const inv = writeInventory(scope, 'cache-wide.txt', scope.fleet.hosts(258, 3600));
    const env = { HOME: scope.home, XDG_CACHE_HOME: xdg };
    const wide = await runHerd(['run', '-i', inv, ...fleetArgs(scope, 'runs-cache-wide'), '-f', '258', 'true'], {
      env,
    });
    expect(wide.stderr).toContain('258 hosts: 258 ok');
    const dir = path.join(xdg, 'herd');
    const written = cacheFiles(dir);
    expect(written.map((f) => f.name)).toEqual([
      expect.stringMatching(/^main\.cjs-[0-9a-f]{12}-[0-9a-f]{40}\.v8$/),
      expect.stringMatching(/^worker\.cjs-[0-9a-f]{12}-[0-9a-f]{40}\.v8$/),
    ]);
    // And the next such run takes it (V8 accepted it: nothing rewritten).
    const again = await runHerd(['run', '-i', inv, ...fleetArgs(scope, 'runs-cache-wide'), '-f', '258', 'true'], {
      env,
    });
    expect(again.stderr).toContain('258 hosts: 258 ok');
    expect(cacheFiles(dir)).toEqual(written);
  });

  it("a worker's cache is in place before the run has its first result, never written after herd has gone", async () => {
    // A worker that wrote at its own exit could outlive herd (its parent does not wait for every exit: a run stopped
    // by a key it cannot decrypt) and write into a home its caller was already removing (seen as ENOTEMPTY in CI).
    const xdg = path.join(scratchDir('herd-xdg-order-'), 'cache');
    const [host] = scope.fleet.hosts(1, 310);
    const inv = writeInventory(scope, 'cache-order.txt', [host!]);
    const env = { HOME: scope.home, XDG_CACHE_HOME: xdg };
    const r = await runHerd(['run', '-i', inv, ...fleetArgs(scope, 'runs-cache-order'), '-w', '1', 'true'], { env });
    expect(r.stderr).toContain('1 host: 1 ok');
    const worker = cacheFiles(path.join(xdg, 'herd')).find((f) => f.name.startsWith('worker.cjs-'));
    expect(worker).toBeDefined();
    const journal = fs
      .readFileSync(path.join(runDirOf(r), 'journal.ndjson'), 'utf8')
      .trim()
      .split('\n');
    const done = journal.map((l) => JSON.parse(l) as { t: string; kind: string }).find((e) => e.kind === 'host_done');
    expect(Math.floor(worker!.mtimeMs)).toBeLessThanOrEqual(Date.parse(done!.t));
  });

  it("starts the CLI and its workers without Node's ES module loader (CommonJS entries: bin/herd, the bundle's)", async () => {
    // A preload that records, as each herd process exits, which of Node's own modules it loaded.
    const dir = scratchDir('herd-loaded-');
    const probe = path.join(dir, 'probe.cjs');
    fs.writeFileSync(
      probe,
      "process.on('exit', () => require('fs').writeFileSync(" +
        `${JSON.stringify(dir)} + '/' + process.pid + '.json', ` +
        'JSON.stringify({ argv: process.argv.slice(1, 2), loaded: process.moduleLoadList })));',
    );
    const inv = writeInventory(scope, 'loaded.txt', scope.fleet.hosts(1, 320));
    const ran = await runHerd(['run', '-i', inv, ...fleetArgs(scope, 'runs-loaded'), '-w', '1', 'true'], {
      env: { HOME: scope.home, NODE_OPTIONS: `--require ${probe}` },
    });
    expect(ran.stderr).toContain('1 host: 1 ok');
    const seen = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { argv: string[]; loaded: string[] });
    expect(seen.map((p) => path.basename(p.argv[0]!)).sort()).toEqual(['herd', 'worker.js']);
    for (const p of seen) {
      // What an ES module entry costs: its module jobs, and fs/promises (with readline) to read its source.
      const esm = p.loaded.filter((m) => /esm\/module_job|esm\/translators|internal\/fs\/promises/.test(m));
      expect(esm, p.argv[0]).toEqual([]);
      // Nor Node's HTTP and TLS, which ssh2's index loads for agents herd never uses (scripts/bundle.mjs).
      expect(p.loaded.filter((m) => /^NativeModule (?:https?|tls|_http_client)$/.test(m))).toEqual([]);
    }
  });

  it('a command that ends before its run (bad usage) leaves no process behind and writes no worker cache', async () => {
    const xdg = path.join(scratchDir('herd-xdg-early-'), 'cache');
    const bad = await runHerd(['run', '--no-such-flag', 'true'], { env: { HOME: scope.home, XDG_CACHE_HOME: xdg } });
    expect(bad.code).toBe(2);
    // No process carries this test's cache path once herd has gone (none was forked: a worker starts with the run).
    const holders = (): string[] =>
      fs.readdirSync('/proc').filter((pid) => {
        try {
          return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/environ`, 'latin1').includes(xdg);
        } catch {
          return false;
        }
      });
    const deadline = Date.now() + 10_000;
    while (holders().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(holders()).toEqual([]);
    const names = fs.existsSync(path.join(xdg, 'herd')) ? fs.readdirSync(path.join(xdg, 'herd')) : [];
    expect(names.filter((n) => n.startsWith('worker'))).toEqual([]);
  });

  it('runs without a cache, and without a word about it, when the home cannot hold one', async () => {
    const aFile = path.join(scratchDir('herd-xdg-file-'), 'cache');
    fs.writeFileSync(aFile, '');
    const homes: Record<string, string | undefined>[] = [
      { HOME: '/proc', XDG_CACHE_HOME: undefined }, // read-only
      { HOME: path.join(aFile, '..', 'no-such-home'), XDG_CACHE_HOME: undefined }, // missing
      { HOME: scope.home, XDG_CACHE_HOME: aFile }, // a file where the cache directory would go
    ];
    for (const env of homes) {
      const hosts = scope.fleet.hosts(2, 310);
      const inv = writeInventory(scope, 'no-cache.txt', hosts);
      const ran = await runHerd(['run', '-i', inv, ...fleetArgs(scope, 'runs-no-home'), 'true'], {
        env,
        cwd: scope.home,
      });
      expect(ran.stderr).toMatch(/^2 hosts: 2 ok/m);
      const lines = ran.stderr.split('\n').filter(Boolean);
      expect(lines.filter((l) => !/^(?:2 hosts: 2 ok$|recorded \d+ new host keys? in |results: )/.test(l))).toEqual([]);
      expect(ran.code).toBe(0);
      const runDir = runDirOf(ran);
      for (const h of hosts) expect(readHostsTsv(runDir).get(h)?.status).toBe('ok');
    }
  });
});
