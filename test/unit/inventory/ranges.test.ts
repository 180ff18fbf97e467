// Bracket ranges, herd's own rules (ClusterShell agreement is the nodeset oracle's job): exact big
// numbers, a bounded expansion, IPv6 literals left alone, and errors that say where and what to write.
import { describe, expect, it } from 'vitest';
import {
  expandBracket,
  expandRanges,
  hasRange,
  MAX_EXPANSION,
  RangeSyntaxError,
} from '../../../src/inventory/ranges.js';

function refusal(token: string): [string, number] {
  try {
    expandRanges(token);
  } catch (err) {
    expect(err).toBeInstanceOf(RangeSyntaxError);
    return [(err as RangeSyntaxError).message, (err as RangeSyntaxError).offset];
  }
  throw new Error(`${token} was accepted`);
}

describe('expandRanges', () => {
  it('multiplies brackets, the left-most varying slowest, and keeps the text between them', () => {
    expect(expandRanges('r[1-2]n[08-10].dc')).toEqual([
      'r1n08.dc',
      'r1n09.dc',
      'r1n10.dc',
      'r2n08.dc',
      'r2n09.dc',
      'r2n10.dc',
    ]);
    expect(expandRanges('10.0.[1,3].[7-8]')).toEqual(['10.0.1.7', '10.0.1.8', '10.0.3.7', '10.0.3.8']);
    expect(expandRanges('plain')).toEqual(['plain']);
  });

  it('counts exactly past 2^53, where a double would repeat or skip hosts', () => {
    expect(expandRanges('n[9007199254740991-9007199254740994]')).toEqual([
      'n9007199254740991',
      'n9007199254740992',
      'n9007199254740993',
      'n9007199254740994',
    ]);
  });

  it('leaves an IPv6 literal where a host begins, and expands the port after it', () => {
    expect(expandRanges('[fe80::1]:2[2-3]')).toEqual(['[fe80::1]:22', '[fe80::1]:23']);
    expect(expandRanges('ops@[::1]:22')).toEqual(['ops@[::1]:22']);
    expect(hasRange('ops@[::1]:22')).toBe(false);
    expect(hasRange('web[1-2]')).toBe(true);
    expect(hasRange('web[1-')).toBe(true); // a syntax error counts: expanding reports it
  });

  it('refuses more than 1,000,000 hosts from one token, in one bracket or multiplied', () => {
    expect(expandRanges(`n[1-${MAX_EXPANSION}]`)).toHaveLength(MAX_EXPANSION);
    expect(refusal(`n[1-${MAX_EXPANSION + 1}]`)).toEqual([
      `range [1-${MAX_EXPANSION + 1}] is larger than ${MAX_EXPANSION} hosts`,
      2,
    ]);
    expect(refusal('n[1-1000].[1-1001]')).toEqual([`expands to more than ${MAX_EXPANSION} hosts`, 10]);
    expect(refusal('n[1-99999999999999999999]')[0]).toMatch(/is larger than/);
  });

  it('says where a range goes wrong, and what to write instead', () => {
    expect(refusal('web[01-044]')).toEqual([
      'range 01-044: padding length mismatch (2 and 3 digits); write both ends with the same width, e.g. 001-044',
      4,
    ]);
    expect(refusal('web[01:50]')).toEqual(['[01:50] is an Ansible-style range; herd writes it web[01-50]', 3]);
    expect(refusal('web[a:f]')).toEqual([
      '[a:f] is an Ansible-style range; herd ranges are numeric, written [N-M] or lists [1,3,7-9]',
      3,
    ]);
    expect(refusal('10.0.0.[1:50:2]')[0]).toMatch(/Ansible-style range; herd ranges are numeric/);
    expect(refusal('web[5-1]')).toEqual(['range 5-1 goes backwards', 4]);
    expect(refusal('web[1,,3]')).toEqual(['empty item in range [1,,3]', 6]);
    expect(refusal('web[]')).toEqual(['empty range []', 3]);
    expect(refusal('web[1-3')).toEqual(['unterminated [', 3]);
    expect(refusal('web1-3]')).toEqual(['unexpected ]', 6]);
    expect(refusal('web[1[2]]')).toEqual(['[ inside a range', 5]);
    expect(refusal('web[1,x]')).toEqual(['bad range item "x": expected N or N-M', 6]);
    expect(refusal('web[-1]')[0]).toBe('bad range item "-1": expected N or N-M');
    expect(refusal('x[::1]')[0]).toBe("bad range [::1]: ':' belongs only in an IPv6 address");
  });
});

describe('expandBracket', () => {
  it('keeps zero padding, and pads only what is written padded', () => {
    expect(expandBracket('08-11', 0)).toEqual(['08', '09', '10', '11']);
    expect(expandBracket('8-11', 0)).toEqual(['8', '9', '10', '11']);
    expect(expandBracket('0-2,7', 0)).toEqual(['0', '1', '2', '7']);
    expect(expandBracket('3,1', 0)).toEqual(['3', '1']); // as written: lists are not sorted
  });
});
