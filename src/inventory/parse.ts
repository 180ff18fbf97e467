// Inventory text -> targets: one host per line, groups, ranges, CIDR, comments, extra columns. Pure.
import { InventoryError } from '../errors.js';
import { CidrError, expandCidr, looksLikeCidr } from './cidr.js';
import { HostSpecError, formatHostSpec, parseHostSpec } from './host-spec.js';
import { RangeSyntaxError, expandRanges, hasRange } from './ranges.js';
import type { InventorySource, ParsedInventory, Target } from './types.js';

const GROUP_RE = /^\[([A-Za-z0-9_.-]+)\]$/;

interface Seen {
  target: Target;
  where: string;
}

/** Parse every source in order; any bad line throws an InventoryError naming file:line:column. */
export function parseInventory(sources: InventorySource[]): ParsedInventory {
  const seen = new Map<string, Seen>();
  const warnings: string[] = [];
  for (const source of sources) parseSource(source, seen, warnings);
  return { targets: [...seen.values()].map((s) => s.target), warnings };
}

function parseSource(source: InventorySource, seen: Map<string, Seen>, warnings: string[]): void {
  const lines = source.text.split(/\r?\n/);
  let group: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const leading = raw.length - raw.trimStart().length;
    const token = raw.trimStart().split(/\s+/)[0] ?? '';
    if (token === '' || token.startsWith('#')) continue;
    // herd's own TSV files start with a header whose first column is `host`.
    if (lineNo === 1 && token === 'host' && /^host\t/.test(raw)) continue;
    const fail = (offset: number, detail: string): never => {
      throw new InventoryError({ file: source.name, line: lineNo, column: leading + offset + 1 }, detail);
    };
    if (token.startsWith('[') && token.endsWith(']') && !token.includes(':') && !/^\[[\d,-]+\]/.test(token)) {
      const m = GROUP_RE.exec(token);
      if (!m) fail(0, `bad group header ${token}: names use letters, digits, _ . -`);
      group = m![1]!;
      continue;
    }
    for (const text of expandToken(token, fail)) {
      let spec;
      try {
        spec = parseHostSpec(text);
      } catch (err) {
        if (err instanceof HostSpecError) fail(hasRange(token) ? 0 : err.offset, err.message);
        throw err;
      }
      const id = formatHostSpec(spec!);
      const where = `${source.name}:${lineNo}`;
      const existing = seen.get(id);
      if (existing) {
        if (group && !existing.target.groups.includes(group)) existing.target.groups.push(group);
        else warnings.push(`${where}: duplicate host ${id} (first at ${existing.where}) ignored`);
        continue;
      }
      seen.set(id, { target: { id, ...spec!, groups: group ? [group] : [] }, where });
    }
  }
}

function expandToken(token: string, fail: (offset: number, detail: string) => never): string[] {
  const at = token.lastIndexOf('@');
  const user = at >= 0 ? token.slice(0, at + 1) : '';
  const rest = token.slice(user.length);
  try {
    if (looksLikeCidr(rest)) return expandCidr(rest).map((h) => user + h);
    if (rest.includes('/'))
      fail(
        user.length + rest.indexOf('/'),
        `unexpected / in ${JSON.stringify(token)} (CIDR blocks are IPv4 a.b.c.d/N)`,
      );
    return expandRanges(token);
  } catch (err) {
    if (err instanceof CidrError) fail(user.length + err.offset, err.message);
    if (err instanceof RangeSyntaxError) fail(err.offset, err.message);
    throw err;
  }
}
