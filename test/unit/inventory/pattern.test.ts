// --limit text -> terms. A term herd does not understand is an error at its column, never a term
// that quietly matches nothing (or everything).
import { describe, expect, it } from 'vitest';
import { parseLimitPattern, PatternError } from '../../../src/inventory/pattern.js';

function refusal(text: string): [string, number] {
  try {
    parseLimitPattern(text);
  } catch (err) {
    expect(err).toBeInstanceOf(PatternError);
    return [(err as PatternError).message, (err as PatternError).offset];
  }
  throw new Error(`${text} was accepted`);
}

const short = (text: string) =>
  parseLimitPattern(text).map((t) => [
    t.op,
    t.kind,
    t.kind === 'names' ? t.names : t.kind === 'file' ? t.path : null,
    t.offset,
  ]);

describe('parseLimitPattern', () => {
  it('splits on commas outside brackets only, so a range list and herd folded output stay one term', () => {
    expect(short('storage, &dc1 ,!10.0.0.[1-3,7]')).toEqual([
      ['add', 'names', ['storage'], 0],
      ['intersect', 'names', ['dc1'], 9],
      ['exclude', 'names', ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.7'], 15],
    ]);
    expect(short('127.0.2.[1-2,5]')).toEqual([['add', 'names', ['127.0.2.1', '127.0.2.2', '127.0.2.5'], 0]]);
  });

  it('knows all, *, @file, globs, CIDR blocks and user@host:port', () => {
    expect(short('all,*,@failed.txt,web*,!10.0.0.0/30,ops@db1:2222')).toEqual([
      ['add', 'all', null, 0],
      ['add', 'all', null, 4],
      ['add', 'file', 'failed.txt', 6],
      ['add', 'names', ['web*'], 18],
      ['exclude', 'names', ['10.0.0.1', '10.0.0.2'], 23],
      ['add', 'names', ['ops@db1:2222'], 36],
    ]);
    expect(parseLimitPattern('!web1')[0]!.raw).toBe('!web1');
  });

  it('refuses what it does not understand, at the column of the problem', () => {
    expect(refusal('')).toEqual(['no pattern given', 0]);
    expect(refusal(' , ,')).toEqual(['no pattern given', 0]);
    expect(refusal('web1,!')).toEqual(['a ! or & needs a pattern after it', 5]);
    expect(refusal('web1, &')).toEqual(['a ! or & needs a pattern after it', 6]);
    expect(refusal('@')).toEqual(['@ needs a file name after it', 0]);
    expect(refusal('web1,!foo[1')).toEqual(['unterminated [', 9]);
    expect(refusal('a]')).toEqual(['unexpected ]', 1]);
    expect(refusal('db,web[01:04]')).toEqual(['[01:04] is an Ansible-style range; herd writes it web[01-04]', 6]);
    expect(refusal('web1,10.0.0.0/8')).toEqual(['/8 is too large a block (at most /16, 65,534 hosts)', 14]);
    expect(refusal('web1,web;rm')).toEqual([
      '"web;rm" is not a group, host, glob, range, CIDR block or @file: bad host name "web;rm"',
      8,
    ]);
    expect(refusal('x,web*;rm')).toEqual(['unexpected ";" in glob "web*;rm"', 6]);
    expect(refusal('x,&-oProxyCommand=y')[1]).toBe(3);
  });
});
