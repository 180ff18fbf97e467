// --limit patterns: comma-separated terms, each a group, host, glob, range or @file;
// `!term` excludes and `&term` intersects, as in Ansible. Pure (file reading is injected).
import { UsageError } from '../errors.js';
import { globMatches } from './glob.js';
import { parseInventory } from './parse.js';
import { expandRanges, hasRange } from './ranges.js';
import type { Target } from './types.js';

export interface Selection {
  /** Selected targets, in inventory order. */
  targets: Target[];
  /** Terms that matched no host (reported as warnings by the caller). */
  unmatched: string[];
}

/** Select targets by a pattern string such as `web,db,&dc1,!web03`. */
export function selectTargets(targets: Target[], patterns: string, readFile: (path: string) => string): Selection {
  const terms = patterns
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (terms.length === 0) throw new UsageError(`--limit ${JSON.stringify(patterns)}: no pattern given`);
  const unmatched: string[] = [];
  const positive = terms.filter((t) => !t.startsWith('!') && !t.startsWith('&'));
  let chosen = new Set<Target>(positive.length === 0 ? targets : []);
  for (const term of positive) {
    const hits = matchTerm(targets, term, readFile);
    if (hits.length === 0) unmatched.push(term);
    for (const t of hits) chosen.add(t);
  }
  for (const term of terms.filter((t) => t.startsWith('&'))) {
    const hits = new Set(matchTerm(targets, term.slice(1), readFile));
    if (hits.size === 0) unmatched.push(term);
    chosen = new Set([...chosen].filter((t) => hits.has(t)));
  }
  for (const term of terms.filter((t) => t.startsWith('!'))) {
    const hits = new Set(matchTerm(targets, term.slice(1), readFile));
    if (hits.size === 0) unmatched.push(term);
    chosen = new Set([...chosen].filter((t) => !hits.has(t)));
  }
  return { targets: targets.filter((t) => chosen.has(t)), unmatched };
}

function matchTerm(targets: Target[], term: string, readFile: (path: string) => string): Target[] {
  if (term === 'all' || term === '*') return targets;
  if (term.startsWith('@')) {
    const file = term.slice(1);
    let text: string;
    try {
      text = readFile(file);
    } catch (err) {
      throw new UsageError(`--limit @${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const listed = parseInventory([{ name: file, text }]).targets;
    const ids = new Set(listed.map((t) => t.id));
    const hosts = new Set(listed.filter((t) => t.user === undefined && t.port === undefined).map((t) => t.host));
    return targets.filter((t) => ids.has(t.id) || hosts.has(t.host));
  }
  const byGroup = targets.filter((t) => t.groups.includes(term));
  if (byGroup.length > 0) return byGroup;
  if (term.includes('*') || term.includes('?')) return targets.filter((t) => globMatches(term, t.id) || globMatches(term, t.host) || t.groups.some((g) => globMatches(term, g)));
  const names = new Set(hasRange(term) ? expandRanges(term) : [term]);
  return targets.filter((t) => names.has(t.id) || names.has(t.host));
}
