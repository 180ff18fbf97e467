// Bracket range expansion: `10.0.[1-3].[1-250]`, `web[01-20].dc1`, `[1,3,7-9]`. Pure.
// Numbers are exact at any size (BigInt past 2^53: a double would repeat or skip hosts), and the
// padding rules are ClusterShell's: both ends of a padded range have the same number of digits.
import { isIPv6 } from 'node:net';

/** No single inventory line or --limit term may expand to more hosts than this. */
export const MAX_EXPANSION = 1_000_000;

export class RangeSyntaxError extends Error {
  constructor(
    message: string,
    /** 0-based offset of the problem within the token. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** One `[...]` of a token: a range to expand, or an IPv6 literal (`[::1]:22`) kept as written. */
interface Bracket {
  open: number;
  close: number;
  body: string;
  ipv6: boolean;
}

/** `01` is padded to two digits; `0` and `10` are not padded. */
function isPadded(digits: string): boolean {
  return digits.length > 1 && digits.startsWith('0');
}

/**
 * Ansible writes ranges `[01:50]` (and `[a:f]`, `[1:50:2]`): say herd's spelling instead of failing on the host
 * name.
 */
function ansibleHint(token: string, b: { open: number; close: number; body: string }): string | null {
  const m = /^([0-9A-Za-z]+):([0-9A-Za-z]+)(?::(\d+))?$/.exec(b.body);
  if (!m) return null;
  if (m[3] !== undefined || !/^\d+$/.test(m[1]!) || !/^\d+$/.test(m[2]!)) {
    return `[${b.body}] is an Ansible-style range; herd ranges are numeric, written [N-M] or lists [1,3,7-9]`;
  }
  const herd = `${token.slice(0, b.open)}[${m[1]}-${m[2]}]${token.slice(b.close + 1)}`;
  return `[${b.body}] is an Ansible-style range; herd writes it ${herd}`;
}

/** Find the brackets of a token; an unterminated `[` or a stray `]` is an error. */
function scanBrackets(token: string): Bracket[] {
  const brackets: Bracket[] = [];
  let i = 0;
  for (;;) {
    const open = token.indexOf('[', i);
    const stray = token.indexOf(']', i);
    if (stray >= 0 && (open < 0 || stray < open)) throw new RangeSyntaxError('unexpected ]', stray);
    if (open < 0) return brackets;
    const close = token.indexOf(']', open);
    if (close < 0) throw new RangeSyntaxError('unterminated [', open);
    const body = token.slice(open + 1, close);
    const nested = body.indexOf('[');
    if (nested >= 0) throw new RangeSyntaxError('[ inside a range', open + 1 + nested);
    // An IPv6 literal can only stand where the host begins: at the start or right after user@.
    const atHostStart = open === 0 || token[open - 1] === '@';
    let ipv6 = false;
    if (body.includes(':')) {
      const hint = ansibleHint(token, { open, close, body });
      if (atHostStart && (isIPv6(body) || hint === null)) ipv6 = true;
      else throw new RangeSyntaxError(hint ?? `bad range [${body}]: ':' belongs only in an IPv6 address`, open);
    }
    brackets.push({ open, close, body, ipv6 });
    i = close + 1;
  }
}

/**
 * Expand one bracket body (`01-20`, `1,3,7-9`) into its values, keeping zero padding.
 * `offset` is where the `[` stands in the token.
 */
export function expandBracket(body: string, offset: number): string[] {
  if (body.trim() === '') throw new RangeSyntaxError('empty range []', offset);
  const items: { start: bigint; end: bigint; width: number }[] = [];
  let count = 0n;
  let at = offset + 1;
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (part === '') throw new RangeSyntaxError(`empty item in range [${body}]`, at);
    if (!m) throw new RangeSyntaxError(`bad range item ${JSON.stringify(part)}: expected N or N-M`, at);
    const startText = m[1]!;
    const endText = m[2] ?? startText;
    if ((isPadded(startText) || isPadded(endText)) && startText.length !== endText.length) {
      const width = Math.max(startText.length, endText.length);
      throw new RangeSyntaxError(
        `range ${part}: padding length mismatch (${startText.length} and ${endText.length} digits); ` +
          `write both ends with the same width, e.g. ${BigInt(startText).toString().padStart(width, '0')}-${BigInt(endText).toString().padStart(width, '0')}`,
        at,
      );
    }
    const start = BigInt(startText);
    const end = BigInt(endText);
    if (end < start) throw new RangeSyntaxError(`range ${part} goes backwards`, at);
    count += end - start + 1n;
    if (count > BigInt(MAX_EXPANSION))
      throw new RangeSyntaxError(`range [${body}] is larger than ${MAX_EXPANSION} hosts`, at);
    items.push({ start, end, width: isPadded(startText) ? startText.length : 0 });
    at += part.length + 1;
  }
  const values: string[] = [];
  for (const { start, end, width } of items) {
    const pad = (digits: string): string => (width > 0 ? digits.padStart(width, '0') : digits);
    if (end <= BigInt(Number.MAX_SAFE_INTEGER)) {
      for (let n = Number(start); n <= Number(end); n++) values.push(pad(String(n)));
    } else {
      for (let n = start; n <= end; n++) values.push(pad(n.toString()));
    }
  }
  return values;
}

/** Expand every range bracket in a token (cartesian product, left-most bracket varying slowest). */
export function expandRanges(token: string): string[] {
  let results = [''];
  let i = 0;
  for (const b of scanBrackets(token)) {
    const literal = token.slice(i, b.open);
    if (b.ipv6) {
      const kept = literal + token.slice(b.open, b.close + 1);
      results = results.map((r) => r + kept);
    } else {
      const values = expandBracket(b.body, b.open);
      if (results.length * values.length > MAX_EXPANSION)
        throw new RangeSyntaxError(`expands to more than ${MAX_EXPANSION} hosts`, b.open);
      const next: string[] = [];
      for (const r of results) for (const v of values) next.push(r + literal + v);
      results = next;
    }
    i = b.close + 1;
  }
  const tail = token.slice(i);
  return results.map((r) => r + tail);
}

/** Does the token contain a range bracket (not an IPv6 literal)? Syntax errors count as yes: expanding reports them. */
export function hasRange(token: string): boolean {
  if (!token.includes('[') && !token.includes(']')) return false;
  try {
    return scanBrackets(token).some((b) => !b.ipv6);
  } catch (err) {
    if (err instanceof RangeSyntaxError) return true;
    throw err;
  }
}
