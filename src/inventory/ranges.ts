// Bracket range expansion: `10.0.[1-3].[1-250]`, `web[01-20].dc1`, `[1,3,7-9]`. Pure.

/** No single inventory line may expand to more hosts than this. */
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

/** A bracket whose content holds ':' is an IPv6 literal, not a range. */
function isIpv6Bracket(content: string): boolean {
  return content.includes(':');
}

/** Expand one bracket body (`01-20`, `1,3,7-9`) into its values, keeping zero padding. */
export function expandBracket(body: string, offset: number): string[] {
  if (body.trim() === '') throw new RangeSyntaxError('empty range []', offset);
  const values: string[] = [];
  let at = offset + 1;
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new RangeSyntaxError(`bad range item ${JSON.stringify(part)}: expected N or N-M`, at);
    const [, startText, endText] = m;
    const start = Number(startText);
    const end = endText === undefined ? start : Number(endText);
    if (end < start) throw new RangeSyntaxError(`range ${part} goes backwards`, at);
    if (end - start + 1 > MAX_EXPANSION) throw new RangeSyntaxError(`range ${part} is larger than ${MAX_EXPANSION} hosts`, at);
    const width = startText!.length > 1 && startText!.startsWith('0') ? startText!.length : 0;
    for (let n = start; n <= end; n++) values.push(width > 0 ? String(n).padStart(width, '0') : String(n));
    at += part.length + 1;
  }
  return values;
}

/** Expand every range bracket in a token (cartesian product, left-most bracket varying slowest). */
export function expandRanges(token: string): string[] {
  let results = [''];
  let i = 0;
  while (i < token.length) {
    const open = token.indexOf('[', i);
    const close = open < 0 ? -1 : token.indexOf(']', open);
    if (open < 0) {
      results = results.map((r) => r + token.slice(i));
      break;
    }
    if (close < 0) throw new RangeSyntaxError('unterminated [', open);
    const body = token.slice(open + 1, close);
    const literal = token.slice(i, open);
    if (isIpv6Bracket(body)) {
      results = results.map((r) => r + literal + token.slice(open, close + 1));
    } else {
      const values = expandBracket(body, open);
      if (results.length * values.length > MAX_EXPANSION) throw new RangeSyntaxError(`expands to more than ${MAX_EXPANSION} hosts`, open);
      const next: string[] = [];
      for (const r of results) for (const v of values) next.push(r + literal + v);
      results = next;
    }
    i = close + 1;
  }
  const stray = token.indexOf(']');
  if (stray >= 0 && token.lastIndexOf('[', stray) < 0) throw new RangeSyntaxError('unexpected ]', stray);
  return results;
}

/** Does the token contain a range bracket (not an IPv6 literal)? */
export function hasRange(token: string): boolean {
  const re = /\[([^\]]*)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(token))) if (!isIpv6Bracket(m[1]!)) return true;
  return false;
}
