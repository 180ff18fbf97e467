import { describe, expect, it } from 'vitest';
import { shareOf } from '../../../src/engine/pool.js';

describe('splitting forks over workers', () => {
  it.each([
    [256, 2, [128, 128]],
    [5, 2, [3, 2]],
    [1, 3, [1, 1, 1]],
  ])('%i sessions over %i workers', (total, parts, expected) => {
    expect(Array.from({ length: parts }, (_, i) => shareOf(total, parts, i))).toEqual(expected);
  });
});
