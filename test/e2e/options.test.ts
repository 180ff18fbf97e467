// Every option a command accepts has an effect on that command (test/unit/cli/options-table.test.ts
// names the proof of each); the ones it would not honour are refused by commander. Most checks
// need no fleet: a refused port or a silent listener is host enough to see a flag reach the run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusedPort, silentListener, type Fault } from '../fleet/faults.js';
import { driver, stderrMatches, stdoutMatches, waitUntil } from './gate.js';
import { readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet, type HerdResult } from './herd-cli.js';

type Runner = 'run' | 'push' | 'pull' | 'play';
const RUNNERS: Runner[] = ['run', 'push', 'pull', 'play'];

const scope = useLoopbackFleet();
let refused: Fault;
let silent: Fault;
let home: string;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  refused = await refusedPort();
  silent = await silentListener();
  closers.push(refused.close, silent.close);
  home = scratchDir('herd-options-');
  fs.writeFileSync(path.join(home, 'book.yml'), '- steps:\n    - name: say\n      run: echo "{{ greeting }}"\n');
  fs.writeFileSync(path.join(home, 'src.txt'), 'payload\n');
  fs.writeFileSync(path.join(home, 'ssh_config'), 'Host *\n  ConnectTimeout 9\n');
  execFileSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-f', path.join(home, 'id')], { stdio: 'ignore' });
  // A default key to offer: herd refuses a run with no credentials at all before any host.
  fs.mkdirSync(path.join(home, '.ssh'));
  fs.copyFileSync(path.join(home, 'id'), path.join(home, '.ssh', 'id_ed25519'));
});
afterAll(async () => {
  for (const close of closers) await close();
});

function inventory(name: string, hosts: string[]): string {
  const file = path.join(home, name);
  fs.writeFileSync(file, hosts.join('\n') + '\n');
  return file;
}

/** herd RUNNER -i INV FLAGS ... with the arguments each runner needs. */
function argsFor(runner: Runner, inv: string, flags: string[]): string[] {
  switch (runner) {
    case 'run':
      return ['run', '-i', inv, ...flags, 'true'];
    case 'push':
      return ['push', '-i', inv, ...flags, path.join(home, 'src.txt'), '/tmp/herd-options-dst.txt'];
    case 'pull':
      return ['pull', '-i', inv, ...flags, '/etc/hostname', path.join(home, 'pulled')];
    case 'play':
      return ['play', '-i', inv, ...flags, '-e', 'greeting=hi', path.join(home, 'book.yml')];
    default:
      return runner satisfies never;
  }
}

const record = (r: HerdResult) => JSON.parse(fs.readFileSync(path.join(runDirOf(r), 'run.json'), 'utf8'));
const herd = (args: string[], env: Record<string, string> = {}, extra: Parameters<typeof runHerd>[1] = {}) =>
  runHerd(args, { env: { HOME: home, ...env }, ...extra });

describe('options a command does not honour', () => {
  it("are refused with commander's unknown option error (exit 2), before any host is contacted", async () => {
    const inv = inventory('refused.txt', [`${refused.host}:${refused.port}`]);
    const cases: [string[], string][] = [
      [['play', '-i', inv, '--timeout', '1', path.join(home, 'book.yml')], '--timeout'],
      [['play', '-i', inv, '--no-group', path.join(home, 'book.yml')], '--no-group'],
      [['push', '-i', inv, '--timeout', '1', path.join(home, 'src.txt'), '/tmp/x'], '--timeout'],
      [['push', '-i', inv, '--idle-timeout', '1', path.join(home, 'src.txt'), '/tmp/x'], '--idle-timeout'],
      [['push', '-i', inv, '--max-output', '1K', path.join(home, 'src.txt'), '/tmp/x'], '--max-output'],
      [['pull', '-i', inv, '--stream', '/etc/hostname', home], '--stream'],
      [['pull', '-i', inv, '--no-color', '/etc/hostname', home], '--no-color'],
      [['pull', '-i', inv, '--follow-links', '/etc/hostname', home], '--follow-links'],
      [['hosts', '-i', inv, '-u', 'root'], '-u'],
      [['rerun', '-i', inv], '-i'],
    ];
    const out = path.join(home, 'runs-refused');
    const results = await Promise.all(cases.map(([args]) => herd([...args, '-o', out])));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr).toContain(`herd: unknown option '${cases[i]![1]}'\n`);
    });
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('flags shared by the commands that run on hosts', () => {
  it('reach the run on run, push, pull, play and rerun: run.json records what the session was given', async () => {
    const inv = inventory('shared.txt', [`${refused.host}:${refused.port}`, '10.255.255.1']);
    const key = path.join(home, 'id');
    const flags = (out: string): string[] => [
      '-F',
      path.join(home, 'ssh_config'),
      '-J',
      `jumper@${refused.host}:${refused.port}`,
      '--jump-sessions',
      '3',
      '-u',
      'alice',
      '-p',
      '2222',
      '-k',
      key,
      '--password-env',
      'PW',
      '--key-passphrase-env',
      'KP',
      '--known-hosts',
      path.join(home, 'kh'),
      '--host-key-checking',
      'off',
      '--connect-timeout',
      '7',
      '--connect-retries',
      '3',
      '--connect-rate',
      '99',
      '-f',
      '3',
      '-w',
      '1',
      '--max-handshakes',
      '5',
      '--deadline',
      '120',
      '-o',
      out,
    ];
    const expected = {
      ssh_config: path.join(home, 'ssh_config'),
      jump: `jumper@${refused.host}:${refused.port}`,
      jump_sessions: 3,
      user: 'alice',
      port: 2222,
      keys: [key],
      password_source: 'env:PW',
      key_passphrase_source: 'env:KP',
      known_hosts: path.join(home, 'kh'),
      host_key_mode: 'off',
      connect_timeout_s: 7,
      connect_retries: 3,
      connect_rate: 99,
      forks: 3,
      workers: 1,
      max_handshakes: 5,
      deadline_s: 120,
    };
    const env = { PW: 'pw', KP: 'kp' };
    const withOutput = ['--idle-timeout', '30', '--max-output', '1K'];
    const results = await Promise.all(
      RUNNERS.map((r) =>
        herd(
          argsFor(r, inv, [
            ...flags(path.join(home, `runs-shared-${r}`)),
            '-l',
            `${refused.host}:*`,
            ...(r === 'run' || r === 'play' ? withOutput : []),
            ...(r === 'run' ? ['--timeout', '9'] : []),
          ]),
          env,
        ),
      ),
    );
    for (const [i, r] of results.entries()) {
      const runner = RUNNERS[i]!;
      expect(r.code, r.stderr).toBe(1);
      expect(runDirOf(r).startsWith(path.join(home, `runs-shared-${runner}`) + '/')).toBe(true);
      const rec = record(r);
      expect(rec.options).toMatchObject(expected);
      if (runner === 'run' || runner === 'play')
        expect(rec.options).toMatchObject({ idle_timeout_s: 30, max_output_bytes: 1024 });
      if (runner === 'run') expect(rec.task.timeout_s).toBe(9);
      if (runner === 'play') expect(rec.task.vars).toEqual({ greeting: 'hi' });
      // -i and -l: one host of the two; -J: it was tried through the jump host.
      expect(rec).toMatchObject({ inventory_sources: [inv], limit: `${refused.host}:*`, hosts_total: 1 });
      expect([...readHostsTsv(runDirOf(r)).values()]).toEqual([
        expect.objectContaining({ reason: `jump host jumper@${refused.host}:${refused.port}: connection refused` }),
      ]);
    }
    // rerun: the same flags given again, new values, over what the earlier run recorded.
    const out = path.join(home, 'runs-shared-run');
    const again = await herd(
      [
        'rerun',
        ...flags(out).map((f) => (f === 'alice' ? 'bob' : f === '7' ? '8' : f)),
        '--timeout',
        '11',
        '--idle-timeout',
        '31',
        '--max-output',
        '2K',
      ],
      env,
    );
    expect(again.code, again.stderr).toBe(1);
    const rec = record(again);
    expect(rec.options).toMatchObject({
      ...expected,
      user: 'bob',
      connect_timeout_s: 8,
      idle_timeout_s: 31,
      max_output_bytes: 2048,
    });
    expect(rec.task.timeout_s).toBe(11);
    expect(rec.rerun_of).toBe(path.basename(runDirOf(results[0]!)));

    // --no-times on push and pull reaches the transfer task.
    const untimed = await Promise.all(
      (['push', 'pull'] as const).map((r) =>
        herd(argsFor(r, inv, ['--no-times', '-o', path.join(home, 'runs-times')])),
      ),
    );
    for (const r of untimed) expect(record(r).task.times).toBe(false);
    expect(record(results[1]!).task.times).toBe(true);

    // --strict-host-keys, the other way to set the policy.
    const strict = await Promise.all(
      RUNNERS.map((r) => herd(argsFor(r, inv, ['--strict-host-keys', '-o', path.join(home, 'runs-strict')]))),
    );
    for (const r of strict) expect(record(r).options.host_key_mode).toBe('strict');
    const strictRerun = await herd(['rerun', '--strict-host-keys', '-o', path.join(home, 'runs-shared-play')], env);
    expect(record(strictRerun).options.host_key_mode).toBe('strict');
  });

  it('--ask-pass, --ask-key-passphrase and --ask-become-pass prompt on a terminal, so without one the run is refused (exit 2)', async () => {
    const inv = inventory('ask.txt', [`${refused.host}:${refused.port}`]);
    const out = path.join(home, 'runs-ask');
    await herd(argsFor('play', inv, ['-o', out]));
    const cases: [string[], string][] = [
      ...RUNNERS.flatMap((r): [string[], string][] => [
        [argsFor(r, inv, ['--ask-pass', '-o', out]), '--ask-pass needs a terminal'],
        [argsFor(r, inv, ['--ask-key-passphrase', '-o', out]), '--ask-key-passphrase needs a terminal'],
      ]),
      [argsFor('play', inv, ['--ask-become-pass', '-o', out]), '--ask-become-pass needs a terminal'],
      [['rerun', '-o', out, '--ask-pass'], '--ask-pass needs a terminal'],
      [['rerun', '-o', out, '--ask-key-passphrase'], '--ask-key-passphrase needs a terminal'],
      [['rerun', '-o', out, '--ask-become-pass'], '--ask-become-pass needs a terminal'],
    ];
    const results = await Promise.all(cases.map(([args]) => herd(args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr).toContain(cases[i]![1]);
    });
  });

  it('--json prints events on stdout and -q leaves the failures out of the summary, on every command', async () => {
    const inv = inventory('display.txt', [`${refused.host}:${refused.port}`]);
    const out = path.join(home, 'runs-display');
    const plain = await herd(argsFor('run', inv, ['-o', out]));
    expect(plain.stderr).toContain('1 unreachable: connection refused');
    const jobs = [...RUNNERS.map((r) => argsFor(r, inv, ['-o', out])), ['rerun', '-o', out]];
    const json = await Promise.all(jobs.map((a) => herd([...a, '--json'])));
    for (const r of json) {
      const events = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events[0]).toMatchObject({ kind: 'run_start', hosts: 1 });
      expect(events.at(-1)).toMatchObject({ kind: 'run_done', counts: { unreachable: 1 } });
    }
    const quiet = await Promise.all(jobs.map((a) => herd([...a, '-q'])));
    for (const r of quiet) {
      expect(r.stderr).toMatch(/^1 host: 1 unreachable\nresults: /m);
      expect(r.stderr).not.toContain('connection refused');
    }
  });

  it('--no-progress silences the progress line and --grace sets how long running work gets after Ctrl-C', async () => {
    const inv = inventory('silent.txt', [`${silent.host}:${silent.port}`]);
    const out = path.join(home, 'runs-silent');
    await herd(argsFor('run', inv, ['-o', out, '--connect-timeout', '1']));
    const jobs = [...RUNNERS.map((r) => argsFor(r, inv, ['-o', out])), ['rerun', '-o', out]];
    // Without a terminal the progress line is a plain line every 5 s: an 8 s handshake shows one.
    const slow = ['--connect-timeout', '8'];
    const [shown, hidden] = await Promise.all([
      Promise.all(jobs.map((a) => herd([...a, ...slow]))),
      Promise.all(jobs.map((a) => herd([...a, ...slow, '--no-progress']))),
    ]);
    for (const r of shown) expect(r.stderr).toMatch(/^herd: \d+\/1 /m);
    for (const r of hidden) expect(r.stderr).not.toMatch(/^herd: \d+\/1 /m);

    // Ctrl-C once the run has started: --json's run_start comes after herd's signal handlers are on.
    const interrupted = async (a: string[], out: string) => {
      let signalled = 0;
      const run = driver(async (child) => {
        await stdoutMatches(child, /"kind":"run_start"/);
        signalled = Date.now();
        child.kill('SIGINT');
      });
      const r = await herd(
        [...a, '-o', out, '--json', '--connect-timeout', '60', '--grace', '1'],
        {},
        { timeoutMs: 60_000, onSpawn: run.onSpawn },
      );
      expect(run.failure()).toBeUndefined();
      return { ...r, afterSignalMs: Date.now() - signalled };
    };
    const graced = await Promise.all([
      ...RUNNERS.map((r) => interrupted(argsFor(r, inv, []), path.join(home, `runs-grace-${r}`))),
      interrupted(['rerun'], out),
    ]);
    for (const r of graced) {
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain('running commands get 1s to finish');
      // These hosts are still connecting, which Ctrl-C stops at once whatever --grace says (the message shows
      // the value reached the run; run-signals.test.ts proves its effect on running commands). The bound only
      // says Ctrl-C was not held up: timed from the signal, not from spawn, with a loaded machine's slack.
      expect(r.afterSignalMs, `${r.afterSignalMs} ms after SIGINT: ${r.stderr}`).toBeLessThan(9_000);
    }
  }, 120_000);
});

describe('handshake pacing', () => {
  /**
   * A listener on every loopback address that never speaks: it sees when each connection starts and how many are
   * open.
   */
  async function watcher(): Promise<{
    port: number;
    starts: number[];
    maxOpen: () => number;
    close: () => Promise<void>;
  }> {
    const net = await import('node:net');
    const starts: number[] = [];
    let open = 0;
    let max = 0;
    const sockets = new Set<import('node:net').Socket>();
    const server = net.createServer((socket) => {
      starts.push(Date.now());
      sockets.add(socket);
      max = Math.max(max, ++open);
      socket.on('error', () => undefined);
      socket.resume(); // read, so the client's close is seen
      socket.on('close', () => {
        open--;
        sockets.delete(socket);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const port = (server.address() as import('node:net').AddressInfo).port;
    return {
      port,
      starts,
      maxOpen: () => max,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    };
  }

  it('--max-handshakes bounds the handshakes in progress and --connect-rate spaces connection starts', async () => {
    const [bounded, unbounded, paced] = await Promise.all([watcher(), watcher(), watcher()]);
    closers.push(bounded.close, unbounded.close, paced.close);
    const hosts = (port: number) =>
      inventory(
        `watch-${port}.txt`,
        Array.from({ length: 6 }, (_, i) => `127.0.3.${i + 1}:${port}`),
      );
    const out = path.join(home, 'runs-pacing');
    await Promise.all([
      herd([
        'run',
        '-i',
        hosts(bounded.port),
        '-w',
        '1',
        '--max-handshakes',
        '2',
        '--connect-timeout',
        '1',
        '-o',
        out,
        'true',
      ]),
      herd(['run', '-i', hosts(unbounded.port), '-w', '1', '--connect-timeout', '1', '-o', out, 'true']),
      herd([
        'run',
        '-i',
        hosts(paced.port),
        '-w',
        '1',
        '--connect-rate',
        '4',
        '--connect-timeout',
        '3',
        '-o',
        out,
        'true',
      ]),
    ]);
    expect(bounded.starts).toHaveLength(6);
    // Two at a time: each start waits for the handshake two before it to give up (1 s).
    for (let i = 2; i < 6; i++) expect(bounded.starts[i]! - bounded.starts[i - 2]!).toBeGreaterThanOrEqual(900);
    expect(bounded.maxOpen()).toBeLessThan(6);
    expect(unbounded.maxOpen()).toBe(6);
    // 4 per second: six starts take at least 5 gaps of 250 ms.
    expect(paced.starts).toHaveLength(6);
    expect(paced.starts.at(-1)! - paced.starts[0]!).toBeGreaterThanOrEqual(1_150);
  });
});

describe('herd rerun', () => {
  it('refuses flags that do not apply to the kind of run it repeats, naming the flag (exit 2)', async () => {
    const inv = inventory('kinds.txt', [`${refused.host}:${refused.port}`]);
    const dirs: Record<string, string> = {};
    for (const r of ['run', 'push', 'play'] as const) {
      dirs[r] = path.join(home, `runs-kind-${r}`);
      await herd(argsFor(r, inv, ['-o', dirs[r]!]));
    }
    const cases: [string, string[], string][] = [
      ['play', ['--timeout', '5'], '--timeout does not apply to run .*, a playbook run \\(only to command runs\\)'],
      ['play', ['--no-group'], '--no-group does not apply'],
      ['play', ['--include-interrupted'], '--include-interrupted does not apply .*see --resume-unguarded'],
      ['push', ['--timeout', '5'], '--timeout does not apply to run .*, a transfer run'],
      ['push', ['--stream'], '--stream does not apply'],
      ['push', ['--no-color'], '--no-color does not apply'],
      ['push', ['--idle-timeout', '5'], '--idle-timeout does not apply'],
      ['push', ['--max-output', '1K'], '--max-output does not apply'],
      ['run', ['--from-start'], '--from-start does not apply to run .*, a command run \\(only to playbook runs\\)'],
      ['run', ['--resume-unguarded'], '--resume-unguarded does not apply'],
      ['run', ['--include-diverged'], '--include-diverged does not apply'],
      ['run', ['--become-pass-env', 'X'], '--become-pass-env does not apply'],
      ['push', ['--ask-become-pass'], '--ask-become-pass does not apply'],
    ];
    const results = await Promise.all(cases.map(([kind, flags]) => herd(['rerun', '-o', dirs[kind]!, ...flags])));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![1].join(' ')).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^herd: rerun: ${cases[i]![2]}`, 'm'));
    });
    // What does apply is taken.
    const ok = await Promise.all([
      herd([
        'rerun',
        '-o',
        dirs['run']!,
        '--timeout',
        '5',
        '--no-group',
        '--include-interrupted',
        '--stream',
        '--no-color',
      ]),
      herd([
        'rerun',
        '-o',
        dirs['play']!,
        '--from-start',
        '--resume-unguarded',
        '--include-diverged',
        '--stream',
        '--no-color',
      ]),
      herd(['rerun', '-o', dirs['push']!, '--include-interrupted']),
    ]);
    for (const r of ok) expect(r.code, r.stderr).toBe(1);
  });
});

describe('with a fleet', () => {
  const conn = (out: string): string[] => [
    '-u',
    scope.fleet.user,
    '-p',
    String(scope.fleet.port),
    '-k',
    scope.fleet.keyPath,
    '--known-hosts',
    path.join(scope.home, 'kh'),
    '-o',
    out,
  ];

  it('play and rerun --stream print host: line as output arrives; rerun --no-group drops the grouped view', async () => {
    const hosts = scope.fleet.hosts(2, 2600);
    const inv = inventory('fleet.txt', hosts);
    const out = path.join(scope.home, 'runs-fleet-opts');
    const play = await herd(argsFor('play', inv, [...conn(out), '--stream']));
    expect(play.code, play.stderr).toBe(0);
    // Playbook lines carry their step tag, as in output.log.
    expect(play.stdout.trim().split('\n').sort()).toEqual(hosts.map((h) => `${h}: [1.1] hi`).sort());

    const failing = await herd(['run', '-i', inv, ...conn(out), 'echo down; exit 3']);
    expect(failing.stdout).toContain('==== 2 hosts exit 3:');
    const grouped = await herd(['rerun', '-o', out]);
    expect(grouped.stdout).toContain('==== 2 hosts exit 3:');
    const streamed = await herd(['rerun', '-o', out, '--stream']);
    expect(streamed.stdout.trim().split('\n').sort()).toEqual(hosts.map((h) => `${h}: down`).sort());
    const ungrouped = await herd(['rerun', '-o', out, '--no-group']);
    expect(ungrouped.code).toBe(1);
    expect(ungrouped.stdout).toBe('');
  });

  it('--include-interrupted reruns a host whose command was interrupted, which rerun leaves out otherwise', async () => {
    const host = scope.fleet.hosts(1, 2640)[0]!;
    const inv = inventory('interrupted.txt', [host]);
    const out = path.join(scope.home, 'runs-interrupted');
    const marker = path.join(scratchDir('herd-marker-'), 'ran');
    fs.chmodSync(path.dirname(marker), 0o777);
    const interrupt = driver(async (child) => {
      const once = stderrMatches(child, /herd: SIGINT: starting no new hosts/);
      await waitUntil(() => fs.existsSync(marker), 'the command to start');
      child.kill('SIGINT');
      await once;
      child.kill('SIGINT');
    });
    const first = await herd(
      ['run', '-i', inv, ...conn(out), `if [ -e ${marker} ]; then echo again; else touch ${marker}; sleep 30; fi`],
      {},
      {
        timeoutMs: 60_000,
        // Ctrl-C twice once the command is running (the marker exists), the second once herd took the first in.
        onSpawn: interrupt.onSpawn,
      },
    );
    expect(interrupt.failure()).toBeUndefined();
    expect(first.code).toBe(130);
    expect(readHostsTsv(runDirOf(first)).get(host)?.status).toBe('interrupted');
    const left = await herd(['rerun', '-o', out]);
    expect(left.code).toBe(0);
    expect(left.stderr).toContain('add --include-interrupted to run them again');
    const again = await herd(['rerun', '-o', out, '--include-interrupted']);
    expect(again.code, again.stderr).toBe(0);
    expect(fs.readFileSync(path.join(runDirOf(again), 'stdout', host), 'utf8')).toBe('again\n');
  });

  it('diff --step and --against pick the step and the reference; runs -n limits the list', async () => {
    const hosts = scope.fleet.hosts(3, 2620);
    const inv = inventory('diff.txt', hosts);
    const out = path.join(scope.home, 'runs-diff-opts');
    const book = path.join(home, 'two-steps.yml');
    fs.writeFileSync(book, `- steps:\n    - run: echo same\n    - run: echo "$SSH_CONNECTION" | cut -d' ' -f3\n`);
    await herd(['play', '-i', inv, ...conn(out), book]);
    const refusedStep = await herd(['diff', '-o', out]);
    expect(refusedStep.code).toBe(2);
    expect(refusedStep.stderr).toContain('choose a step with --step');
    expect((await herd(['diff', '-o', out, '--step', '1'])).code).toBe(0);
    const against = await herd(['diff', '-o', out, '--step', '1.2', '--against', hosts[0]!]);
    expect(against.code).toBe(1);
    expect(against.stdout).toContain(`-${hosts[0]}\n+${hosts[1]}\n`);
    await herd(['run', '-i', inv, ...conn(out), 'true']);
    const all = (await herd(['runs', '-o', out])).stdout.trim().split('\n');
    expect(all).toHaveLength(2);
    expect((await herd(['runs', '-o', out, '-n', '1'])).stdout.trim().split('\n')).toEqual([all[0]]);
    const bad = await herd(['runs', '-o', out, '-n', 'ten']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('-n: expected an integer >= 1, got "ten"');
    const badStatus = await herd(['show', '-o', out, '--status', 'okay']);
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain('--status okay: not a host status');
  });
});
