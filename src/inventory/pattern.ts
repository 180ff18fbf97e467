// --limit pattern text -> terms. Pure. Terms are split on top-level commas only, so a range's own
// list (`foo[1,3]`) and herd's folded output (`127.0.2.[1-3,5-8]`) stay one term; anything not
// understood is an error with its column, never a term that quietly matches nothing.
import { CidrError, expandCidr, looksLikeCidr } from './cidr.js';
import { HostSpecError, parseHostSpec } from './host-spec.js';
import { RangeSyntaxError, expandRanges, hasRange } from './ranges.js';

export type TermOp = 'add' | 'intersect' | 'exclude';

export type TermKind =
  | { kind: 'all' }
  | { kind: 'file'; path: string }
  /** Group names, hosts and globs, after range and CIDR expansion. */
  | { kind: 'names'; names: string[] };

export type LimitTerm = TermKind & {
  op: TermOp;
  /** The term as typed, with its ! or & (for messages). */
  raw: string;
  /** 0-based offset of the term in the pattern text. */
  offset: number;
};

export class PatternError extends Error {
  constructor(
    message: string,
    /** 0-based offset in the pattern text. */
    readonly offset: number,
  ) {
    super(message);
  }
}

const GROUP_RE = /^[A-Za-z0-9_.-]+$/;
const GLOB_RE = /^[A-Za-z0-9_.@:*?-]+$/;

/** Split on commas outside brackets; brackets must pair up. */
function splitTopLevel(text: string): { raw: string; offset: number }[] {
  const pieces: { raw: string; offset: number }[] = [];
  let depth = 0;
  let openAt = -1;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === '[') {
      if (depth === 0) openAt = i;
      depth++;
    } else if (c === ']') {
      if (depth === 0) throw new PatternError('unexpected ]', i);
      depth--;
    } else if ((c === ',' && depth === 0) || i === text.length) {
      if (i === text.length && depth > 0) throw new PatternError('unterminated [', openAt);
      pieces.push({ raw: text.slice(start, i), offset: start });
      start = i + 1;
    }
  }
  return pieces;
}

/** Parse a whole pattern text; throws PatternError at the first term it does not understand. */
export function parseLimitPattern(text: string): LimitTerm[] {
  const terms: LimitTerm[] = [];
  for (const piece of splitTopLevel(text)) {
    const raw = piece.raw.trim();
    if (raw === '') continue;
    const offset = piece.offset + (piece.raw.length - piece.raw.trimStart().length);
    const op: TermOp = raw.startsWith('!') ? 'exclude' : raw.startsWith('&') ? 'intersect' : 'add';
    const body = op === 'add' ? raw : raw.slice(1);
    const at = offset + raw.length - body.length;
    terms.push({ ...parseBody(body, at), op, raw, offset });
  }
  if (terms.length === 0) throw new PatternError('no pattern given', 0);
  return terms;
}

function parseBody(body: string, at: number): TermKind {
  if (body === '') throw new PatternError('a ! or & needs a pattern after it', at - 1);
  if (body === 'all' || body === '*') return { kind: 'all' };
  if (body.startsWith('@')) {
    if (body.length === 1) throw new PatternError('@ needs a file name after it', at);
    return { kind: 'file', path: body.slice(1) };
  }
  if (looksLikeCidr(body)) {
    try {
      return { kind: 'names', names: expandCidr(body) };
    } catch (err) {
      if (err instanceof CidrError) throw new PatternError(err.message, at + err.offset);
      throw err;
    }
  }
  let names: string[];
  try {
    names = hasRange(body) ? expandRanges(body) : [body];
  } catch (err) {
    if (err instanceof RangeSyntaxError) throw new PatternError(err.message, at + err.offset);
    throw err;
  }
  for (const name of names) checkName(name, at, body);
  return { kind: 'names', names };
}

/** A name is a glob, a group name or a host; anything else is a typo that must not pass as "matched nothing". */
function checkName(name: string, at: number, body: string): void {
  if (name.includes('*') || name.includes('?')) {
    if (GLOB_RE.test(name)) return;
    const bad = [...body].findIndex((c) => !/[A-Za-z0-9_.@:*?[\],-]/.test(c));
    throw new PatternError(
      `unexpected ${JSON.stringify(body[Math.max(0, bad)])} in glob ${JSON.stringify(body)}`,
      at + Math.max(0, bad),
    );
  }
  if (GROUP_RE.test(name)) return;
  try {
    parseHostSpec(name);
  } catch (err) {
    if (err instanceof HostSpecError) {
      throw new PatternError(
        `${JSON.stringify(body)} is not a group, host, glob, range, CIDR block or @file: ${err.message}`,
        name === body ? at + err.offset : at,
      );
    }
    throw err;
  }
}
