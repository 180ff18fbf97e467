// Time to the first answer (issue 17): a run of fewer than 32 hosts starts no worker process (herd's own process
// works on them: engine/in-process-worker.ts), larger runs no more than their hosts need, and an explicit --workers
// is still obeyed; workers start from the bundle.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { driver, hostsHeldBy, openGate, waitUntil, type Gate } from './gate.js';
import { childPids, ROOT, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();
const BUNDLED_WORKER = path.join(ROOT, 'dist', 'src', 'bundle', 'worker.js');

function conn(out: string): string[] {
  return [
    '-u',
    scope.fleet.user,
    '-p',
    String(scope.fleet.port),
    '-k',
    scope.fleet.keyPath,
    '--known-hosts',
    path.join(scope.home, 'kh'),
    '-o',
    path.join(scope.home, out),
  ];
}

/**
 * A preload every herd process runs (NODE_OPTIONS --require): `setup` first, then at its exit it writes `report` (a
 * JavaScript expression) as JSON to a file of its own; take() reads and removes what the processes wrote.
 */
function exitReports<T>(setup: string[], report: string): { nodeOptions: string; take(): T[] } {
  const seen = scratchDir('herd-exit-report-');
  const preload = path.join(seen, 'preload.cjs');
  const write = `require('node:fs').writeFileSync(${JSON.stringify(seen)} + '/' + process.pid + '.json', JSON.stringify(${report}))`;
  fs.writeFileSync(preload, [...setup, `process.on('exit', () => ${write});`].join('\n') + '\n');
  return {
    nodeOptions: `--require ${preload}`,
    take: () =>
      fs
        .readdirSync(seen)
        .filter((n) => n.endsWith('.json'))
        .map((n) => {
          const file = path.join(seen, n);
          const value = JSON.parse(fs.readFileSync(file, 'utf8')) as T;
          fs.rmSync(file);
          return value;
        }),
  };
}

/**
 * Runs `args` with every host blocked on a gate, and reports which process held which hosts: each worker process, and
 * herd's own (its pid) when it holds any.
 */
async function processesHolding(hosts: string[], name: string, extra: string[]): Promise<Map<number, string[]>> {
  const inv = path.join(scope.home, `${name}.txt`);
  fs.writeFileSync(inv, hosts.join('\n') + '\n');
  const gate: Gate = openGate();
  const held = new Map<number, string[]>();
  let workers = 0;
  const run = driver(async (child) => {
    await waitUntil(() => gate.started().length === hosts.length, `all ${hosts.length} commands to start`);
    const own = hostsHeldBy(child.pid!, gate);
    if (own.length > 0) held.set(child.pid!, own);
    for (const pid of childPids(child.pid!)) {
      workers++;
      held.set(pid, hostsHeldBy(pid, gate));
      // A worker is the bundled module, one file to load (scripts/bundle.mjs), not the ~50 modules it is built from.
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(BUNDLED_WORKER);
    }
    gate.release();
  });
  const result = await runHerd(['run', '-i', inv, ...conn(`runs-${name}`), ...extra, gate.command('true')], {
    env: { HOME: scope.home },
    onSpawn: run.onSpawn,
  });
  expect(run.failure()).toBeUndefined();
  expect(result.code).toBe(0);
  const record = JSON.parse(fs.readFileSync(path.join(runDirOf(result), 'run.json'), 'utf8')) as {
    options: { workers: number };
  };
  // run.json says how many worker processes the run had (a rerun repeats it).
  expect(record.options.workers).toBe(workers);
  return held;
}

describe('worker processes of a small run', () => {
  it("a 5-host run forks no worker: herd's own process holds every host, unless --workers asks for workers", async () => {
    const hosts = scope.fleet.hosts(5, 810);
    const auto = await processesHolding(hosts, 'auto', []);
    expect([...auto.values()].map((h) => h.sort())).toEqual([[...hosts].sort()]);
    // Two are what the user asked for: two there are, each with some of the hosts, and none in herd itself.
    const asked = await processesHolding(hosts, 'asked', ['-w', '2', '-f', '5']);
    expect(asked.size).toBe(2);
    expect([...asked.values()].flat().sort()).toEqual([...hosts].sort());
  });

  it('a 31-host run is still one process; 40 hosts fork one worker per 32 hosts begun, at most one per CPU', async () => {
    const few = scope.fleet.hosts(31, 850);
    const alone = await processesHolding(few, 'thirty-one', []);
    expect(alone.size).toBe(1);
    expect([...alone.values()].flat().sort()).toEqual([...few].sort());
    const hosts = scope.fleet.hosts(40, 820);
    const held = await processesHolding(hosts, 'forty', []);
    expect(held.size).toBe(Math.min(2, os.availableParallelism()));
    expect([...held.values()].flat().sort()).toEqual([...hosts].sort());
  });

  it('--workers 0 keeps a 40-host run in one process too; a push of 2 hosts still forks its worker', async () => {
    const hosts = scope.fleet.hosts(40, 860);
    const held = await processesHolding(hosts, 'forty-in', ['-w', '0']);
    expect(held.size).toBe(1);
    expect([...held.values()].flat().sort()).toEqual([...hosts].sort());
    const src = path.join(scope.home, 'push-src');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'f'), 'x');
    const inv = path.join(scope.home, 'push2.txt');
    fs.writeFileSync(inv, scope.fleet.hosts(2, 870).join('\n') + '\n');
    // The fleet's user writes there.
    const dest = scratchDir('herd-small-push-');
    fs.chmodSync(dest, 0o777);
    const pushed = await runHerd(['push', '-i', inv, ...conn('runs-push2'), src, `${dest}/{{ host }}`], {
      env: { HOME: scope.home },
    });
    expect(pushed.code, pushed.stderr).toBe(0);
    const record = JSON.parse(fs.readFileSync(path.join(runDirOf(pushed), 'run.json'), 'utf8')) as {
      options: { workers: number };
    };
    expect(record.options.workers).toBe(1);
  });

  it('--workers 0 with --persist is refused before any host is contacted', async () => {
    const inv = path.join(scope.home, 'persist0.txt');
    fs.writeFileSync(inv, scope.fleet.hosts(1, 880).join('\n') + '\n');
    const r = await runHerd(['run', '-i', inv, ...conn('runs-persist0'), '-w', '0', '--persist', '1m', 'true'], {
      env: { HOME: scope.home },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "herd: --persist keeps connections in worker processes: --workers 0 runs in herd's own process\n",
    );
    expect(fs.existsSync(path.join(scope.home, 'runs-persist0'))).toBe(false);
  });
});

describe('the parent process', () => {
  it('with worker processes (-w 1) it loads no SSH library when no -k is given: only its workers connect', async () => {
    const hosts = scope.fleet.hosts(1, 840);
    const inv = path.join(scope.home, 'parent.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const config = path.join(scope.home, 'parent_ssh_config');
    const { user, port, keyPath } = scope.fleet;
    const kh = path.join(scope.home, 'kh');
    fs.writeFileSync(
      config,
      `Host *\n  Port ${port}\n  User ${user}\n  IdentityFile ${keyPath}\n  UserKnownHostsFile ${kh}\n`,
    );
    const gate = openGate();
    // ssh2's native crypto binding, mapped into each process that loaded ssh2.
    const mapsSsh2 = (pid: number): boolean => fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('sshcrypto.node');
    let parent: boolean | undefined;
    let worker: boolean | undefined;
    const run = driver(async (child) => {
      await waitUntil(() => gate.started().length === 1, 'the command to start');
      parent = mapsSsh2(child.pid!);
      worker = mapsSsh2(childPids(child.pid!)[0]!);
      gate.release();
    });
    const out = path.join(scope.home, 'runs-parent');
    const result = await runHerd(['run', '-i', inv, '-F', config, '-o', out, '-w', '1', gate.command('true')], {
      env: { HOME: scope.home },
      onSpawn: run.onSpawn,
    });
    expect(run.failure()).toBeUndefined();
    expect(result.code).toBe(0);
    expect(worker).toBe(true);
    expect(parent).toBe(false);
  });
});

describe('the V8 options of herd and its workers', () => {
  it("herd's own young generation stays small from the start of a run over 256 hosts; a worker's only when it works on over 256 hosts at once", async () => {
    // Any V8 option on the command line makes Node compile its built-in modules from source (its embedded code cache
    // is for its default flags): ~20 ms of a start; and a small young generation costs CPU in the collector: worth it
    // only where memory is the bound, many sessions. Each process says, as it exits, what options it started with
    // and which V8 flags it set as it ran.
    const reports = exitReports<[string, string[], string[]]>(
      [
        "const v8 = require('node:v8');",
        'const set = [];',
        'const setFlags = v8.setFlagsFromString;',
        'v8.setFlagsFromString = (flags) => (set.push(flags), setFlags(flags));',
      ],
      '[process.argv[1], process.execArgv, set]',
    );
    const env = { HOME: scope.home, NODE_OPTIONS: reports.nodeOptions };
    const options = (): Map<string, string[][][]> => {
      const byEntry = new Map<string, string[][][]>();
      for (const [entry, execArgv, set] of reports.take())
        byEntry.set(path.basename(entry), [...(byEntry.get(path.basename(entry)) ?? []), [execArgv, set]]);
      return byEntry;
    };
    const inv = path.join(scope.home, 'v8-options.txt');
    fs.writeFileSync(inv, scope.fleet.hosts(2, 910).join('\n') + '\n');
    const ran = await runHerd(['run', '-i', inv, ...conn('runs-v8-options'), '-w', '1', 'true'], { env });
    expect(ran.code, ran.stderr).toBe(0);
    expect(options()).toEqual(
      new Map([
        ['herd', [[[], []]]],
        ['worker.js', [[[], []]]],
      ]),
    );
    const many = path.join(scope.home, 'v8-options-many.txt');
    fs.writeFileSync(many, scope.fleet.hosts(258, 3000).join('\n') + '\n');
    const wide = await runHerd(['run', '-i', many, ...conn('runs-v8-options'), '-w', '1', '-f', '258', 'true'], {
      env,
    });
    expect(wide.code, wide.stderr).toBe(0);
    expect(options()).toEqual(
      new Map([
        ['herd', [[[], ['--semi-space-growth-factor=1']]]],
        ['worker.js', [[['--max-semi-space-size=1'], []]]],
      ]),
    );
    const src = path.join(scope.home, 'v8-options-src');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'f'), 'x');
    const dest = scratchDir('herd-v8-options-push-');
    fs.chmodSync(dest, 0o777);
    const pushed = await runHerd(['push', '-i', inv, ...conn('runs-v8-options'), src, `${dest}/{{ host }}`], { env });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(options()).toEqual(
      new Map([
        ['herd', [[[], []]]],
        ['worker.js', [[[], []]]],
      ]),
    );
  });
});

describe("a worker's messages to herd", () => {
  it('leave once per turn of its event loop, in order: 100 hosts print and end in far fewer sends than messages', async () => {
    // Each host's phases, handshake, output and result were a message each: serialised, written and, in herd's
    // own process, read and parsed one by one. Each worker counts what it sends, as it exits.
    const reports = exitReports<{ sends: number; messages: number } | null>(
      [
        'let sends = 0, messages = 0;',
        'if (process.send) {',
        '  const send = process.send.bind(process);',
        "  process.send = (m, ...rest) => (sends++, (messages += m.kind === 'batch' ? m.messages.length : 1), send(m, ...rest));",
        '}',
      ],
      'process.send ? { sends, messages } : null',
    );
    const hosts = scope.fleet.hosts(100, 3300);
    const inv = path.join(scope.home, 'worker-sends.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const result = await runHerd(
      ['run', '-i', inv, ...conn('runs-worker-sends'), '-w', '1', 'echo out; echo err >&2'],
      {
        env: { HOME: scope.home, NODE_OPTIONS: reports.nodeOptions },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const dir = runDirOf(result);
    for (const h of hosts) {
      expect(fs.readFileSync(path.join(dir, 'stdout', h), 'utf8')).toBe('out\n');
      expect(fs.readFileSync(path.join(dir, 'stderr', h), 'utf8')).toBe('err\n');
    }
    const counts = reports.take().filter((c) => c !== null);
    expect(counts).toHaveLength(1);
    const [{ sends, messages }] = counts as [{ sends: number; messages: number }];
    // A phase, a handshake, two outputs, a phase, a result: six a host at least.
    expect(messages).toBeGreaterThanOrEqual(6 * hosts.length);
    expect(sends * 2).toBeLessThan(messages);
  });
});

describe("herd's own process as the worker (-w 0, or a small run)", () => {
  it('leaves at once after its run though a host never closes its side of the connection', async () => {
    // A host (here a relay in front of the fleet's sshd) that takes herd's disconnect and end, and never closes its
    // side: a worker process would exit over it; herd's own process must not wait on it either (ssh2's keepalive
    // timer held it until the 2 s cut before).
    const [host] = scope.fleet.hosts(1, 890);
    const held: net.Socket[] = [];
    const relay = net.createServer({ allowHalfOpen: true }, (client) => {
      const up = net.connect({ host: host!, port: scope.fleet.port, allowHalfOpen: true });
      held.push(client, up);
      client.on('data', (d) => up.write(d));
      up.on('data', (d) => client.write(d));
      for (const s of [client, up]) s.on('error', () => {});
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = relay.address() as net.AddressInfo;
      const inv = path.join(scope.home, 'never-closes.txt');
      fs.writeFileSync(inv, `127.0.0.1:${port}\n`);
      const r = await runHerd(
        ['run', '-i', inv, ...conn('runs-never-closes'), '--host-key-checking', 'off', 'echo hi'],
        {
          env: { HOME: scope.home },
        },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(fs.readFileSync(path.join(runDirOf(r), 'stdout', `127.0.0.1:${port}`), 'utf8')).toBe('hi\n');
      // Well under the grace after which the connection would be cut anyway (WORKER_EXIT_GRACE_MS, 2 s).
      expect(r.durationMs).toBeLessThan(1_500);
    } finally {
      for (const s of held) s.destroy();
      relay.close();
    }
  });

  it('says nothing of Node listener warnings on a run of more than ten hosts at once', async () => {
    // Every host's job listens to its pass's abort signal; Node warns past ten listeners, on herd's own stderr now.
    const inv = path.join(scope.home, 'twelve.txt');
    fs.writeFileSync(inv, scope.fleet.hosts(12, 900).join('\n') + '\n');
    const r = await runHerd(['run', '-i', inv, ...conn('runs-twelve'), 'sleep 0.5'], { env: { HOME: scope.home } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Warning/);
    expect(r.stderr).toContain('12 hosts: 12 ok');
  });
});
