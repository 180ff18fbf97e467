import { describe, expect, it } from 'vitest';
import { planResume, type HostHistory, type StepRecord } from '../../../src/results/resume.js';
import type { Playbook, Step } from '../../../src/playbook/types.js';

const pos = { file: 'p.yml', line: 1, column: 1 };
function step(index: number, extra: Partial<Step> = {}): Step {
  return { index, name: `s${index}`, kind: 'run', run: 'true', check: false, ignoreErrors: false, become: false, position: pos, ...extra } as Step;
}
const playbook: Playbook = {
  file: 'p.yml',
  plays: [
    { index: 1, name: 'one', hosts: 'all', vars: {}, steps: [step(1), step(2, { unless: 'x' }), step(3)], position: pos },
    { index: 2, name: 'two', hosts: 'web', vars: {}, steps: [step(1)], position: pos },
  ],
};
const playHosts = new Map([
  [1, ['a', 'b', 'c', 'd', 'e', 'f']],
  [2, ['a', 'b']],
]);
const rec = (status: StepRecord['status'], ignored = false): StepRecord => ({ status, ignored });
const host = (id: string, final: HostHistory['final'], steps: [string, StepRecord][], wasRunning = false): HostHistory => ({ id, final, wasRunning, steps: new Map(steps) });
const result = (id: string, status: NonNullable<HostHistory['final']>['status'], step?: string) => ({ id, status, exitCode: null, durationMs: 0, reason: '', ...(step ? { step } : {}) });

describe('planning a playbook rerun', () => {
  const history: HostHistory[] = [
    host('a', result('a', 'ok'), [['1.1', rec('changed')], ['1.2', rec('changed')], ['1.3', rec('changed')], ['2.1', rec('changed')]]),
    host('b', result('b', 'failed', '2.1'), [['1.1', rec('changed')], ['1.2', rec('skipped')], ['1.3', rec('changed')], ['2.1', rec('failed')]]),
    host('c', result('c', 'failed', '1.3'), [['1.1', rec('changed')], ['1.2', rec('failed', true)], ['1.3', rec('failed')]]),
    host('d', null, [['1.1', rec('changed')]], true),
    host('e', result('e', 'interrupted', '1.3'), [['1.1', rec('changed')], ['1.2', rec('changed')], ['1.3', rec('interrupted')]]),
    host('f', result('f', 'diverged', '1.1'), [['1.1', rec('diverged')]]),
  ];
  const opts = { fromStart: false, resumeUnguarded: false, includeDiverged: false, earlierRun: 'R1' };

  it('resumes each host at its first step that did not succeed, counting ignored failures as done', () => {
    const plan = planResume(playbook, playHosts, history, opts);
    expect(plan.hosts).toEqual(['b', 'c', 'd']);
    expect(plan.resume.get('b')).toEqual({ play: 2, step: 1, doneIn: 'R1' });
    expect(plan.resume.get('c')).toEqual({ play: 1, step: 3, doneIn: 'R1' });
    expect(plan.resume.get('d')).toEqual({ play: 1, step: 2, doneIn: 'R1' });
  });

  it('holds back a host interrupted inside an unguarded step, and diverged hosts, saying why', () => {
    const plan = planResume(playbook, playHosts, history, opts);
    expect(plan.held.map((h) => h.id)).toEqual(['e', 'f']);
    expect(plan.held[0]!.reason).toMatch(/step 1\.3 \(s3\) was interrupted mid-way and has no guard/);
    expect(plan.held[1]!.reason).toMatch(/--include-diverged/);
  });

  it('resumes unguarded interrupted steps and diverged hosts only when asked', () => {
    const plan = planResume(playbook, playHosts, history, { ...opts, resumeUnguarded: true, includeDiverged: true });
    expect(plan.hosts).toEqual(['b', 'c', 'd', 'e', 'f']);
    expect(plan.resume.get('e')).toEqual({ play: 1, step: 3, doneIn: 'R1' });
  });

  it('starts over with --from-start', () => {
    const plan = planResume(playbook, playHosts, history, { ...opts, fromStart: true });
    expect(plan.hosts).toEqual(['b', 'c', 'd', 'e']);
    expect(plan.resume.size).toBe(0);
  });
});
