import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { fitForks, openFileLimit } from '../../../src/engine/fd-budget.js';
import { retryDelayMs, startRateGate } from '../../../src/engine/pacing.js';
import { parseSize } from '../../../src/cli/options.js';
import { copyPrefixedLines } from '../../../src/results/host-output.js';

describe('file descriptor budget', () => {
  it('reads the soft limit from /proc/self/limits text', () => {
    const text =
      'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n';
    expect(openFileLimit(text)).toBe(1024);
    expect(openFileLimit('Max open files            unlimited            unlimited            files\n')).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    expect(openFileLimit('nothing here')).toBeNull();
  });

  it('keeps forks that fit and clamps those that do not', () => {
    expect(fitForks(256, 2, 2, 1024)).toBe(256);
    expect(fitForks(500, 2, 2, 90)).toBe(26);
    expect(fitForks(500, 1, 18, 80)).toBe(1);
  });
});

describe('connection pacing', () => {
  it('spaces starts 1/rate apart without a burst', async () => {
    // Fake timers and an injected clock: the waits are read off the timer queue, not measured.
    vi.useFakeTimers();
    try {
      let t = 1000;
      const gate = startRateGate(10, () => t);
      await gate(); // the first start goes at once
      expect(vi.getTimerCount()).toBe(0);
      let second = false;
      const next = gate().then(() => (second = true));
      await vi.advanceTimersByTimeAsync(99);
      expect(second).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(second).toBe(true);
      await next;
      t += 1000;
      const after = gate(); // a second later the gate is open again: no timer at all
      expect(vi.getTimerCount()).toBe(0);
      await after;
    } finally {
      vi.useRealTimers();
    }
  });

  it('never waits with pacing off', async () => {
    vi.useFakeTimers();
    try {
      const gate = startRateGate(0);
      const starts = Array.from({ length: 100 }, () => gate());
      expect(vi.getTimerCount()).toBe(0);
      await Promise.all(starts);
    } finally {
      vi.useRealTimers();
    }
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(retryDelayMs(1, () => 0)).toBe(125);
    expect(retryDelayMs(1, () => 0.999)).toBe(375);
    expect(retryDelayMs(3, () => 0.5)).toBe(1000);
    expect(retryDelayMs(20, () => 0.5)).toBe(4000);
  });
});

describe('--max-output sizes', () => {
  it('takes bytes and binary units, and names the flag on bad input', () => {
    expect(parseSize('--max-output', '4096')).toBe(4096);
    expect(parseSize('--max-output', '512K')).toBe(512 * 1024);
    expect(parseSize('--max-output', '10M')).toBe(10 * 1024 * 1024);
    expect(parseSize('--max-output', '1GiB')).toBe(1024 ** 3);
    expect(parseSize('--max-output', undefined)).toBe(0);
    expect(() => parseSize('--max-output', 'lots')).toThrow(/--max-output: expected a size/);
  });
});

describe('output.log lines', () => {
  const prefixed = (content: string | Buffer): string => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'herd-prefix-')), 'out');
    fs.writeFileSync(file, content);
    const chunks: Buffer[] = [];
    copyPrefixedLines(file, 'h: ', (c) => chunks.push(c));
    fs.rmSync(path.dirname(file), { recursive: true });
    return Buffer.concat(chunks).toString();
  };

  it('prefixes every line and ends the last one', () => {
    expect(prefixed('a\nb\n')).toBe('h: a\nh: b\n');
    expect(prefixed('a\n\nb')).toBe('h: a\nh: \nh: b\n');
    expect(prefixed('')).toBe('');
  });

  it('handles lines that cross read blocks, and streams a huge line without newlines in bounded pieces', () => {
    const long = 'x'.repeat(3 * 1024 * 1024 + 5);
    expect(prefixed(`${long}\nz\n`)).toBe(`h: ${long}\nh: z\n`);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'herd-prefix-')), 'out');
    fs.writeFileSync(file, Buffer.alloc(8 * 1024 * 1024, 0x61));
    let total = 0;
    let largest = 0;
    copyPrefixedLines(file, 'h: ', (c) => {
      total += c.length;
      largest = Math.max(largest, c.length);
    });
    fs.rmSync(path.dirname(file), { recursive: true });
    expect(total).toBe(8 * 1024 * 1024 + 4);
    // Never the whole line at once (the old line splitter held it all, and grew it quadratically).
    expect(largest).toBeLessThanOrEqual(256 * 1024 + 3);
  });
});
