// herd's inventory text -> targets: one host per line, groups, ranges, CIDR, comments, host variables
// (`10.0.0.5 dev=/dev/sdb`), group variables (`[storage:vars]`) and herd's own result files. Pure.
//
// What may follow the host on a line, so nothing is dropped in silence:
// - `key=value` words (quotes as in a shell): host variables;
// - a line with a tab whose second column is a host status word is a row of herd's hosts.tsv: the
//   other columns are results, not variables, and are ignored (and `host\tstatus...` is its header);
// - anything else is an error at its column. `web01 web02` is refused, not read as two hosts: Ansible's
//   INI reader refuses it too ("Expected key=value host variable assignment"), and an operator who
//   meant two hosts and one who meant a host with a typo'd variable must both be told.
import { InventoryError } from '../errors.js';
import { HOST_STATUSES } from '../results/status.js';
import { CidrError, expandCidr, looksLikeCidr } from './cidr.js';
import { HostSpecError, formatHostSpec, parseHostSpec } from './host-spec.js';
import { RangeSyntaxError, expandRanges, hasRange } from './ranges.js';
import type { InventorySource, ParsedInventory, Target } from './types.js';
import { resolveVars, type Vars } from './vars.js';
import { WordError, splitAssignment, splitWords } from './words.js';

const GROUP_RE = /^\[([A-Za-z0-9_.-]+)\]$/;
const SECTION_RE = /^\[([A-Za-z0-9_.-]+):([A-Za-z0-9_]+)\]$/;
const STATUSES = new Set<string>(HOST_STATUSES);

interface Seen {
  target: Target;
  where: string;
  hostVars: Vars;
}

/** Parse every source in order; any bad line throws an InventoryError naming file:line:column. */
export function parseInventory(sources: InventorySource[]): ParsedInventory {
  const seen = new Map<string, Seen>();
  const groupVars = new Map<string, Vars>();
  const warnings: string[] = [];
  for (const source of sources) parseSource(source, seen, groupVars, warnings);
  const targets = [...seen.values()].map((s) => {
    const groups = s.target.groups.map((name) => ({ name, depth: 1, vars: groupVars.get(name) ?? {} }));
    const vars = resolveVars(groups, s.hostVars);
    return Object.keys(vars).length > 0 ? { ...s.target, vars } : s.target;
  });
  // A typo in a [group:vars] header would give its variables to nobody: say so.
  const used = new Set(targets.flatMap((t) => t.groups));
  for (const g of groupVars.keys())
    if (!used.has(g)) warnings.push(`[${g}:vars]: no host is in group ${g}; its variables apply to none`);
  return { targets, warnings };
}

function parseSource(
  source: InventorySource,
  seen: Map<string, Seen>,
  groupVars: Map<string, Vars>,
  warnings: string[],
): void {
  const lines = source.text.split(/\r?\n/);
  let group: string | null = null;
  let varsOf: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const leading = raw.length - raw.trimStart().length;
    const token = raw.trimStart().split(/\s+/)[0] ?? '';
    if (token === '' || token.startsWith('#')) continue;
    const fail = (offset: number, detail: string): never => {
      throw new InventoryError({ file: source.name, line: lineNo, column: leading + offset + 1 }, detail);
    };
    const columns = raw.split('\t');
    const tsvRow = columns.length > 1 && STATUSES.has(columns[1]!.trim());
    // herd's own hosts.tsv starts with a header whose first column is `host`.
    if (lineNo === 1 && token === 'host' && /^host\tstatus\t/.test(raw)) continue;
    const section = SECTION_RE.exec(token);
    if (section) {
      if (section[2] !== 'vars') {
        fail(
          0,
          `[${section[1]}:${section[2]}] is Ansible inventory syntax; name the file .ini or give --inventory-format ansible`,
        );
      }
      varsOf = section[1]!;
      group = null;
      if (!groupVars.has(varsOf)) groupVars.set(varsOf, {});
      checkRest(raw, leading + token.length, fail);
      continue;
    }
    if (token.startsWith('[') && token.endsWith(']') && !token.includes(':') && !/^\[[\d,-]+\]/.test(token)) {
      const m = GROUP_RE.exec(token);
      if (!m) fail(0, `bad group header ${token}: names use letters, digits, _ . -`);
      group = m![1]!;
      varsOf = null;
      checkRest(raw, leading + token.length, fail);
      continue;
    }
    if (varsOf !== null) {
      const assigned = assignments(raw, 0, fail);
      if (assigned.length !== 1) fail(0, `expected one key=value line in [${varsOf}:vars]`);
      Object.assign(groupVars.get(varsOf)!, Object.fromEntries(assigned));
      continue;
    }
    const expanded = expandToken(token, fail);
    const hostVars: Vars = tsvRow ? {} : Object.fromEntries(assignments(raw, leading + token.length, fail));
    for (const text of expanded) {
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
        Object.assign(existing.hostVars, hostVars);
        if (group && !existing.target.groups.includes(group)) existing.target.groups.push(group);
        else if (Object.keys(hostVars).length === 0)
          warnings.push(`${where}: duplicate host ${id} (first at ${existing.where}) ignored`);
        continue;
      }
      seen.set(id, { target: { id, ...spec!, groups: group ? [group] : [] }, where, hostVars: { ...hostVars } });
    }
  }
}

/** The `key=value` words of a line from `from` on; any other word is an error at its column. */
function assignments(raw: string, from: number, fail: (offset: number, detail: string) => never): [string, string][] {
  const leading = raw.length - raw.trimStart().length;
  return wordsFrom(raw, from, leading, fail).map((w) => {
    const kv = splitAssignment(w.text);
    const at = from - leading + w.offset;
    if (!kv) {
      fail(
        at,
        `unexpected ${JSON.stringify(w.text)}: after the host a line holds only key=value variables (one host per line)`,
      );
    }
    if (kv!.key.startsWith('ansible_')) {
      fail(at, `${kv!.key} is an Ansible connection variable; name the file .ini or give --inventory-format ansible`);
    }
    return [kv!.key, kv!.value];
  });
}

/** The words of a line from `from` on; a quote left open is an error at its column. */
function wordsFrom(
  raw: string,
  from: number,
  leading: number,
  fail: (offset: number, detail: string) => never,
): ReturnType<typeof splitWords> {
  try {
    return splitWords(raw.slice(from));
  } catch (err) {
    if (err instanceof WordError) fail(from - leading + err.offset, err.message);
    throw err;
  }
}

function checkRest(raw: string, from: number, fail: (offset: number, detail: string) => never): void {
  const leading = raw.length - raw.trimStart().length;
  const words = wordsFrom(raw, from, leading, fail);
  if (words.length > 0)
    fail(from - leading + words[0]!.offset, `unexpected ${JSON.stringify(words[0]!.text)} after a group header`);
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
