// The HTML report's chart numbers.
import { describe, expect, it } from 'vitest';
import { histogram, quantile } from '../../../../src/report/html/charts.js';

describe('charts', () => {
  it('histogram puts every duration in one bin, the maximum in the last', () => {
    const h = histogram([0, 1, 50, 99, 1000], 10);
    expect(h.bins.reduce((a, b) => a + b, 0)).toBe(5);
    expect(h.bins.at(-1)).toBe(1);
    expect(h.bins[0]).toBe(4);
    expect(histogram([], 4).bins).toEqual([0, 0, 0, 0]);
  });

  it('quantile is the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([quantile(sorted, 0.5), quantile(sorted, 0.9), quantile(sorted, 0.99)]).toEqual([50, 90, 99]);
    expect(quantile([], 0.5)).toBe(0);
  });
});
