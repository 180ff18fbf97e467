// --limit patterns: comma-separated terms, each a group, host, glob, range, CIDR block or @file;
// `!term` excludes and `&term` intersects, as in Ansible. Pure (file reading is injected).
// A selection never widens by accident: a term herd does not understand is an error, and so (for
// -l) is an exclusion that excludes nothing, since a typo there runs on the host meant to be kept out.
import { UsageError } from '../errors.js';
import { compileGlob } from './glob.js';
import { parseInventory } from './parse.js';
import { PatternError, parseLimitPattern, type LimitTerm } from './pattern.js';
import type { Target } from './types.js';
import { ioReason } from '../io-reason.js';

export interface Selection {
  /** Selected targets, in inventory order. */
  targets: Target[];
  /** Terms that matched no host (reported as warnings by the caller). */
  unmatched: string[];
}

export interface SelectOptions {
  /** How messages name the pattern's source: the flag as typed (`-l`, `--limit`) or `play 2 hosts`. */
  label?: string;
  /** An exclusion that matches nothing: an error (-l) or listed in `unmatched` (a play's hosts, applied after -l). */
  unmatchedExclusion?: 'error' | 'warn';
}

/** Select targets by a pattern string such as `web,db,&dc1,!web03`. */
export function selectTargets(
  targets: Target[],
  patterns: string,
  readFile: (path: string) => string,
  options: SelectOptions = {},
): Selection {
  const label = options.label ?? '--limit';
  let terms: LimitTerm[];
  try {
    terms = parseLimitPattern(patterns);
  } catch (err) {
    if (err instanceof PatternError)
      throw new UsageError(`${label} ${JSON.stringify(patterns)}: column ${err.offset + 1}: ${err.message}`, 'E_LIMIT');
    throw err;
  }
  const index = new TargetIndex(targets);
  const unmatched: string[] = [];
  const positive = terms.filter((t) => t.op === 'add');
  let chosen = new Set<Target>(positive.length === 0 ? targets : []);
  for (const term of positive) {
    const hits = matchTerm(index, term, readFile, label);
    if (hits.size === 0) unmatched.push(term.raw);
    for (const t of hits) chosen.add(t);
  }
  for (const term of terms.filter((t) => t.op === 'intersect')) {
    const hits = matchTerm(index, term, readFile, label);
    if (hits.size === 0) unmatched.push(term.raw);
    chosen = new Set([...chosen].filter((t) => hits.has(t)));
  }
  for (const term of terms.filter((t) => t.op === 'exclude')) {
    const hits = matchTerm(index, term, readFile, label);
    if (hits.size === 0) {
      if (options.unmatchedExclusion === 'warn') unmatched.push(term.raw);
      else
        throw new UsageError(
          `${label} ${JSON.stringify(patterns)}: column ${term.offset + 1}: ${term.raw} excludes no host; refusing to run without the exclusion (check the name)`,
          'E_LIMIT',
        );
    }
    chosen = new Set([...chosen].filter((t) => !hits.has(t)));
  }
  return { targets: targets.filter((t) => chosen.has(t)), unmatched };
}

/** Targets by group, id and host name, built once: a range term may name a million hosts. */
class TargetIndex {
  readonly groups = new Map<string, Target[]>();
  private readonly ids = new Map<string, Target>();
  private readonly hosts = new Map<string, Target[]>();
  constructor(readonly all: Target[]) {
    for (const t of all) {
      for (const g of t.groups) push(this.groups, g, t);
      this.ids.set(t.id, t);
      push(this.hosts, t.host, t);
      // An Ansible inventory's host name (`db1 ansible_host=10.0.0.5`) selects it as in Ansible.
      if (t.name !== undefined && t.name !== t.host) push(this.hosts, t.name, t);
    }
  }

  /**
   * The target whose id is `name`, else every target on host `name` (`10.0.0.9` finds
   * `ops@10.0.0.9:2222`). An exact id wins, so herd's own output pasted back (failed.txt, folded
   * hosts) selects what it names and not also `ops@10.0.0.1` beside `10.0.0.1`.
   */
  lookup(name: string): Target[] {
    const exact = this.ids.get(name);
    return exact ? [exact] : (this.hosts.get(name) ?? []);
  }
}

function push(map: Map<string, Target[]>, key: string, t: Target): void {
  const list = map.get(key);
  if (list) list.push(t);
  else map.set(key, [t]);
}

function matchTerm(
  index: TargetIndex,
  term: LimitTerm,
  readFile: (path: string) => string,
  label: string,
): Set<Target> {
  switch (term.kind) {
    case 'all':
      return new Set(index.all);
    case 'file': {
      let text: string;
      try {
        text = readFile(term.path);
      } catch (err) {
        throw new UsageError(`${label} @${term.path}: cannot read it (${ioReason(err)})`);
      }
      const hits = new Set<Target>();
      for (const listed of parseInventory([{ name: term.path, text }]).targets)
        for (const t of index.lookup(listed.id)) hits.add(t);
      return hits;
    }
    case 'names': {
      const hits = new Set<Target>();
      for (const name of term.names) for (const t of matchName(index, name)) hits.add(t);
      return hits;
    }
    default: {
      const never: never = term;
      throw new Error(`unknown term ${JSON.stringify(never)}`);
    }
  }
}

/** A group name wins over a host of the same name, as in Ansible; globs match ids, hosts and groups. */
function matchName(index: TargetIndex, name: string): Target[] {
  const group = index.groups.get(name);
  if (group) return group;
  if (name.includes('*') || name.includes('?')) {
    const matches = compileGlob(name);
    return index.all.filter(
      (t) => matches(t.id) || matches(t.host) || (t.name !== undefined && matches(t.name)) || t.groups.some(matches),
    );
  }
  return index.lookup(name);
}
