import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/cli/parse-value.js';

describe('parseDuration (--persist, HERD_PERSIST)', () => {
  it('reads seconds, minutes and hours, a bare number as seconds', () => {
    expect(parseDuration('--persist', '90s')).toBe(90_000);
    expect(parseDuration('--persist', '10m')).toBe(600_000);
    expect(parseDuration('--persist', '1h')).toBe(3_600_000);
    expect(parseDuration('--persist', '1.5m')).toBe(90_000);
    expect(parseDuration('--persist', '30')).toBe(30_000);
  });

  it('refuses anything else, naming the flag', () => {
    for (const bad of ['', '0s', '0.5s', '10d', '-1m', 'soon', '1h30m']) {
      expect(() => parseDuration('HERD_PERSIST', bad)).toThrow(/^HERD_PERSIST: expected a duration/);
    }
  });
});
