import { describe, expect, it } from 'vitest';
import { excerptKey, formatRecap, formatStepBlock, type RecapStep } from '../../../src/report/play-recap.js';

const s = (host: string, step: number, status: RecapStep['status'], reason = '', name = `step ${step}`): RecapStep => ({
  host,
  play: 1,
  step,
  name,
  status,
  exitCode: status === 'failed' ? 1 : 0,
  reason,
});

describe('play recap', () => {
  it('counts by step status; the majority lists no hosts, the others are folded, failures grouped by reason', () => {
    const rows = [
      ...[1, 2, 3, 4, 5].map((n) => s(`10.0.0.${n}`, 3, 'changed', '', 'mount')),
      s('10.0.0.6', 3, 'skipped', 'unless: exit 0', 'mount'),
      s('10.0.0.7', 3, 'failed', 'exit code 1', 'mount'),
      s('10.0.0.8', 3, 'failed', 'exit code 1', 'mount'),
    ];
    expect(formatStepBlock(rows)).toEqual([
      '[1.3] mount: 5 changed, 1 skipped, 2 failed',
      '  1 skipped: 10.0.0.6',
      '  2 failed: exit code 1\n      10.0.0.[7-8]',
    ]);
  });

  it('lists every status when no single status is the largest, and shows each failure group its excerpt once', () => {
    const rows = [s('a1', 2, 'would_run', 'not run under --check'), s('a2', 2, 'would_skip', 'creates: /x exists')];
    expect(formatStepBlock(rows)).toEqual([
      '[1.2] step 2: 1 would_run, 1 would_skip',
      '  1 would_run: a1',
      '  1 would_skip: a2',
    ]);
    const failed = [s('h1', 1, 'failed', 'exit code 2'), s('h2', 1, 'failed', 'exit code 2')];
    const excerpt = { excerpt: { key: 'boom', lines: ['boom'], more: 0, cut: false }, file: 'steps/1.1/stderr/h1' };
    const excerpts = new Map([
      [excerptKey('h1', '1.1'), excerpt],
      [excerptKey('h2', '1.1'), excerpt],
    ]);
    expect(formatStepBlock(failed, excerpts)).toEqual([
      '[1.1] step 1: 2 failed',
      '  2 failed: exit code 2\n      h[1-2]\n      | boom',
    ]);
  });

  it('orders steps by play and step, whatever the order the rows came in', () => {
    const rows = [
      s('b', 10, 'ok'),
      s('a', 2, 'ok'),
      { ...s('a', 1, 'already_done', 'done in run X'), play: 2 },
      s('b', 2, 'ok'),
    ];
    expect(formatRecap(rows)).toEqual(['[1.2] step 2: 2 ok', '[1.10] step 10: 1 ok', '[2.1] step 1: 1 already_done']);
  });

  it('cuts a long folded host list, pointing at steps.tsv, for minorities and failures alike', () => {
    const odd = Array.from({ length: 100 }, (_, i) => `10.0.${i}.${2 * i + 1}`);
    const rows = [
      ...Array.from({ length: 300 }, (_, i) => s(`web${i}`, 1, 'changed')),
      ...odd.map((h) => s(h, 1, 'skipped', 'guard')),
      ...odd.map((h) => s(`x${h}`, 1, 'failed', 'exit code 1')),
    ];
    const [, skipped, failed] = formatStepBlock(rows);
    expect(skipped).toMatch(/^ {2}100 skipped: 10\.0\.0\.1,10\.0\.1\.3,.*\.\.\. \(see steps\.tsv\)$/);
    expect(skipped!.length).toBeLessThan(250);
    expect(failed).toMatch(/^ {2}100 failed: exit code 1\n {6}x10\.0\.0\.1,.*\.\.\. \(see steps\.tsv\)$/);
  });
});
