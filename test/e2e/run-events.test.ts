// The engine's events, recorded from real runs against the fleet, replayed through the CLI's view:
// the view alone, fed what the engine emitted, prints what the operator saw (stderr notes and step
// blocks, --stream lines, --json events), so the terminal text is a function of the event stream.
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { createRunView } from '../../src/cli/render-run.js';
import { printStepBlock } from '../../src/cli/recap-output.js';
import { NdjsonSink } from '../../src/report/ndjson.js';
import { LineStreamer } from '../../src/report/stream.js';
import { runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

function conn(): string[] {
  const { fleet, home } = scope;
  const kh = path.join(home, 'kh');
  return [
    '-u',
    fleet.user,
    '-p',
    String(fleet.port),
    '-k',
    fleet.keyPath,
    '--known-hosts',
    kh,
    '-o',
    path.join(home, 'runs'),
  ];
}

function file(name: string, text: string): string {
  const p = path.join(scope.home, name);
  fs.writeFileSync(p, text);
  return p;
}

/** A pipe-like stream that keeps what is written (not a terminal, as in runHerd). */
class Capture extends Writable {
  private readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** The events a run recorded (HERD_TEST_EVENTS_FILE), with output bytes as Buffers again. */
function readEvents(eventsFile: string): RunEvent[] {
  return fs
    .readFileSync(eventsFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent & { data?: { data: number[] } })
    .map((e) =>
      e.kind === 'output' ? { ...e, data: Buffer.from((e.data as unknown as { data: number[] }).data) } : e,
    );
}

/** Capture writes happen synchronously inside _write, but let any queued writes settle. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('the run view replays the engine events', () => {
  it('a consensus play with --stream: the same held-back note, step blocks and streamed lines', async () => {
    const hosts = scope.fleet.hosts(5, 2900);
    const odd = hosts[3]!;
    const book = file(
      'events.yml',
      `name: check before you act
steps:
  - name: inspect disks
    run: 'if [ "$(echo $SSH_CONNECTION | cut -d" " -f3)" = "${odd}" ]; then echo sdm; else echo sdb; fi'
    check: true
    expect: { consensus: true }
  - name: format
    run: printf 'formatted\\nno newline at the end'
`,
    );
    const eventsFile = path.join(scope.home, 'play-events.ndjson');
    const inv = file('events.txt', hosts.join('\n') + '\n');
    const result = await runHerd(['play', '-i', inv, ...conn(), '--no-progress', '--stream', book], {
      env: { HOME: scope.home, HERD_TEST_EVENTS_FILE: eventsFile },
    });
    expect(result.code).toBe(1);
    const events = readEvents(eventsFile);
    expect(events[0]).toMatchObject({ kind: 'run_start', hosts: 5, task: 'playbook', dir: runDirOf(result) });
    expect(events.filter((e) => e.kind === 'gate_verdict')).toEqual([
      {
        kind: 'gate_verdict',
        play: 1,
        step: 1,
        name: 'inspect disks',
        groups: expect.any(Array),
        majority: 'sdb',
        held: [odd],
      },
    ]);
    expect(events.at(-1)).toMatchObject({ kind: 'run_done', state: 'done', counts: { ok: 4, diverged: 1 } });

    const stderr = new Capture();
    const stdout = new Capture();
    const view = createRunView({
      stderr,
      progress: false,
      stream: new LineStreamer(stdout, false),
      stepBlock: (results, dir) => printStepBlock(stderr, dir, results),
    });
    for (const e of events) view.listener(e);
    view.close();
    await settle();
    // What the CLI prints after the run (recap, summary) is not the view's: compare up to it.
    const live = result.stderr.slice(0, result.stderr.indexOf('recap:\n'));
    expect(live).toContain(`herd: consensus at step 1.1 (inspect disks): 2 distinct outputs\n  [majority] 4 hosts: `);
    expect(live).toContain(`  [HELD BACK] 1 host: ${odd}\n      | sdm\n`);
    expect(stderr.text()).toBe(live);
    expect(stdout.text()).toBe(result.stdout);
    expect(result.stdout).toContain(`${hosts[0]}: [1.2] no newline at the end\n`);
  });

  it('an ad-hoc run with --json: the same event lines, timestamps aside', async () => {
    const hosts = scope.fleet.hosts(3, 2950);
    const eventsFile = path.join(scope.home, 'json-events.ndjson');
    const inv = file('json.txt', [...hosts, '127.0.0.1:1'].join('\n') + '\n');
    const result = await runHerd(['run', '-i', inv, ...conn(), '--json', 'echo "héllo"; echo err >&2'], {
      env: { HOME: scope.home, HERD_TEST_EVENTS_FILE: eventsFile },
    });
    expect(result.code).toBe(1);
    const stdout = new Capture();
    const view = createRunView({ stderr: new Capture(), progress: false, json: new NdjsonSink(stdout) });
    for (const e of readEvents(eventsFile)) view.listener(e);
    view.close();
    await settle();
    const untimed = (text: string): unknown[] =>
      text
        .trim()
        .split('\n')
        .map((l) => ({ ...JSON.parse(l), t: 'T' }));
    expect(untimed(stdout.text())).toEqual(untimed(result.stdout));
    expect(untimed(result.stdout).map((e) => (e as { kind: string }).kind)).toContain('host_start');
  });
});
