import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { readRun } from '../../../src/results/reader.js';
import { planResume, type HostHistory, type StepRecord } from '../../../src/results/resume.js';
import type { Playbook, Step } from '../../../src/playbook/types.js';

const pos = { file: 'p.yml', line: 1, column: 1 };
function step(index: number, extra: Partial<Step> = {}): Step {
  return {
    index,
    name: `s${index}`,
    kind: 'run',
    run: 'true',
    check: false,
    ignoreErrors: false,
    become: false,
    position: pos,
    ...extra,
  } as Step;
}
const playbook: Playbook = {
  file: 'p.yml',
  plays: [
    {
      index: 1,
      name: 'one',
      hosts: 'all',
      vars: {},
      steps: [step(1), step(2, { unless: 'x' }), step(3)],
      position: pos,
    },
    { index: 2, name: 'two', hosts: 'web', vars: {}, steps: [step(1)], position: pos },
  ],
};
const playHosts = new Map([
  [1, ['a', 'b', 'c', 'd', 'e']],
  [2, ['a', 'b']],
]);
const rec = (status: StepRecord['status'], ignored = false): StepRecord => ({ status, ignored });
const host = (
  id: string,
  final: HostHistory['final'],
  steps: [string, StepRecord][],
  wasRunning = false,
): HostHistory => ({ id, final, wasRunning, steps: new Map(steps) });
const result = (id: string, status: NonNullable<HostHistory['final']>['status'], step?: string) => ({
  id,
  status,
  exitCode: null,
  durationMs: 0,
  reason: '',
  ...(step ? { step } : {}),
});

describe('planning a playbook rerun', () => {
  const history: HostHistory[] = [
    host('a', result('a', 'ok'), [
      ['1.1', rec('changed')],
      ['1.2', rec('changed')],
      ['1.3', rec('changed')],
      ['2.1', rec('changed')],
    ]),
    host('b', result('b', 'failed', '2.1'), [
      ['1.1', rec('changed')],
      ['1.2', rec('skipped')],
      ['1.3', rec('changed')],
      ['2.1', rec('failed')],
    ]),
    host('c', result('c', 'failed', '1.3'), [
      ['1.1', rec('changed')],
      ['1.2', rec('failed', true)],
      ['1.3', rec('failed')],
    ]),
    host('d', null, [['1.1', rec('changed')]], true),
    host('e', result('e', 'interrupted', '1.3'), [
      ['1.1', rec('changed')],
      ['1.2', rec('changed')],
      ['1.3', rec('interrupted')],
    ]),
  ];
  const opts = { fromStart: false, resumeUnguarded: false, includeDiverged: false, earlierRun: 'R1' };

  it('resumes each host at its first step that did not succeed, counting ignored failures as done', () => {
    const plan = planResume(playbook, playHosts, history, opts);
    expect(plan.hosts).toEqual(['b', 'c', 'd']);
    expect(plan.resume.get('b')).toEqual({ play: 2, step: 1, doneIn: 'R1' });
    expect(plan.resume.get('c')).toEqual({ play: 1, step: 3, doneIn: 'R1' });
    expect(plan.resume.get('d')).toEqual({ play: 1, step: 2, doneIn: 'R1' });
  });

  it('holds back a host interrupted inside an unguarded step, saying why', () => {
    const plan = planResume(playbook, playHosts, history, opts);
    expect(plan.held.map((h) => h.id)).toEqual(['e']);
    expect(plan.held[0]!.reason).toMatch(/step 1\.3 \(s3\) was interrupted mid-way and has no guard/);
  });

  it('resumes unguarded interrupted steps only when asked', () => {
    const plan = planResume(playbook, playHosts, history, { ...opts, resumeUnguarded: true });
    expect(plan.hosts).toEqual(['b', 'c', 'd', 'e']);
    expect(plan.resume.get('e')).toEqual({ play: 1, step: 3, doneIn: 'R1' });
  });

  it('starts over with --from-start', () => {
    const plan = planResume(playbook, playHosts, history, { ...opts, fromStart: true });
    expect(plan.hosts).toEqual(['b', 'c', 'd', 'e']);
    expect(plan.resume.size).toBe(0);
  });
});

// Run directories written by the real engine (test/e2e/play-honesty.test.ts's gate playbook on a
// loopback fleet: 7 hosts, 127.0.29.90 and .93 differ at the consensus step 1.1 and are held back),
// copied from the first run's directory: gate-held-back by this herd, gate-held-back-older-herd by
// herd at commit 4cb6051, before a held-back host's gate step was recorded `diverged`.
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/run-dirs');

function planFor(name: string, includeDiverged: boolean): ReturnType<typeof planResume> {
  const run = readRun(path.join(FIXTURES, name));
  const file = path.join(FIXTURES, name, 'gate.yml');
  const book = loadPlaybook({ file, text: fs.readFileSync(file, 'utf8') }, { fileExists: () => true, extraVars: {} });
  const history = run.hosts.map((h) => ({ id: h.id, final: h.result, wasRunning: h.wasRunning, steps: h.steps }));
  return planResume(book, run.playHosts!, history, {
    fromStart: false,
    resumeUnguarded: false,
    includeDiverged,
    earlierRun: run.record.id,
  });
}

describe('planning a rerun of hosts held back by a consensus gate (journals from the real engine)', () => {
  const held = ['127.0.29.90', '127.0.29.93'];

  it('leaves them out without --include-diverged, naming the flag', () => {
    const plan = planFor('gate-held-back', false);
    expect(plan.hosts).toEqual([]);
    expect(plan.held.map((h) => h.id)).toEqual(held);
    expect(plan.held[0]!.reason).toMatch(/diverged at step 1\.1: .*--include-diverged/);
  });

  it('resumes them at the gate step itself, never after it', () => {
    const run = readRun(path.join(FIXTURES, 'gate-held-back'));
    expect(run.hosts.find((h) => h.id === held[0])!.steps.get('1.1')?.status).toBe('diverged');
    expect(run.gates.get('1.1')).toBe('sda disk 100G\nsdb disk 2T');
    const plan = planFor('gate-held-back', true);
    expect(plan.hosts).toEqual(held);
    for (const id of held) expect(plan.resume.get(id)).toMatchObject({ play: 1, step: 1 });
  });

  it('resumes them at the gate step also from a journal of an older herd, which recorded that step ok', () => {
    const run = readRun(path.join(FIXTURES, 'gate-held-back-older-herd'));
    expect(run.hosts.find((h) => h.id === held[0])!.steps.get('1.1')?.status).toBe('ok');
    const plan = planFor('gate-held-back-older-herd', true);
    expect(plan.hosts).toEqual(held);
    for (const id of held) expect(plan.resume.get(id)).toMatchObject({ play: 1, step: 1 });
  });
});
