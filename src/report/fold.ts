// Fold host names into range notation (`10.0.[1-3].[1-250]`): the inverse of the inventory's
// range expansion, so expanding the folded text gives back exactly the same set. Pure.
// Numbers stay digit strings (exact at any size), and one field folds as ClusterShell's RangeSet
// does: `foo01`..`foo11` is `foo[01-11]`, `foo9,foo10` is `foo[9-10]`, `foo1,foo01` is `foo[1,01]`.

/** A numeric field shared by several items: its digit strings, and their folded text once asked for. */
class NumSet {
  private text: string | undefined;
  /** The smallest value, for ordering the folded terms. */
  readonly min: string;
  constructor(readonly values: string[]) {
    let min = values[0]!;
    for (const v of values) if (compareDigits(v, min) < 0) min = v;
    this.min = min;
  }

  format(): string {
    if (this.text === undefined) {
      const runs = foldNumbers(this.values);
      this.text = runs.includes(',') || runs.includes('-') ? `[${runs}]` : runs;
    }
    return this.text;
  }
}

/** A literal run (never starts with a digit), one number's digit string, or a merged numeric field. */
type Part = string | NumSet;

const isDigitCode = (c: number): boolean => c >= 48 && c <= 57;
const isNumeric = (p: Part): boolean => typeof p !== 'string' || isDigitCode(p.charCodeAt(0));
const text = (p: Part): string => (typeof p === 'string' ? p : p.format());

/** Split `web01.dc1` into ['web', '01', '.dc', '1']: a scanner, as a million hosts pass through here. */
function splitParts(host: string): Part[] {
  const parts: Part[] = [];
  let start = 0;
  for (let i = 1; i <= host.length; i++) {
    if (i === host.length || isDigitCode(host.charCodeAt(i)) !== isDigitCode(host.charCodeAt(start))) {
      parts.push(host.slice(start, i));
      start = i;
    }
  }
  return parts;
}

const isPadded = (digits: string): boolean => digits.length > 1 && digits.startsWith('0');

/** Decimal successor of a digit string, keeping its width unless it overflows (`09` -> `10`, `99` -> `100`). */
function successor(digits: string): string {
  let i = digits.length - 1;
  while (i >= 0 && digits[i] === '9') i--;
  if (i < 0) return `1${'0'.repeat(digits.length)}`;
  return digits.slice(0, i) + String.fromCharCode(digits.charCodeAt(i) + 1) + '0'.repeat(digits.length - i - 1);
}

/** Shorter first, then by value: for equal lengths the string order is the numeric order. */
function compareDigits(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Runs of one field, as ClusterShell's RangeSet folds them: a run that starts padded keeps its
 * width (an unpadded number of that width may join it: 08,09,10); an unpadded run takes only
 * unpadded numbers (9,10). Every run expands back to exactly its own digit strings.
 */
export function foldNumbers(values: readonly string[]): string {
  const sorted = [...new Set(values)].sort(compareDigits);
  const runs: string[] = [];
  let start = sorted[0]!;
  let last = start;
  const close = (): void => void runs.push(start === last ? start : `${start}-${last}`);
  for (let i = 1; i < sorted.length; i++) {
    const v = sorted[i]!;
    const next = successor(last);
    const joins = isPadded(start) ? v.length === start.length && v === next : !isPadded(v) && v === next;
    if (!joins) {
      close();
      start = v;
    }
    last = v;
  }
  close();
  return runs.join(',');
}

function render(parts: Part[]): string {
  let out = '';
  for (const p of parts) out += text(p);
  return out;
}

/**
 * Rendered terms in natural order: part by part, a number by its smallest value (shorter digit
 * strings first), numbers before words, fewer parts first. Sorted by a plain string key (code
 * units), which is several times faster than a comparator over a million terms. Host names hold
 * no control characters, so \u0000 ends a key and \u0001-\u0003 mark the kinds of parts.
 */
function sortNaturally(items: Part[][]): string[] {
  const keyed = items.map((parts) => {
    let key = '';
    for (const p of parts) {
      if (!isNumeric(p)) key += `\u0002${p as string}`;
      else {
        const least = typeof p === 'string' ? p : p.min;
        key += `\u0001${String.fromCharCode(0x20 + Math.min(least.length, 0xffdf))}${least}\u0003${text(p)}`;
      }
    }
    return `${key}\u0000${render(parts)}`;
  });
  keyed.sort();
  return keyed.map((k) => k.slice(k.lastIndexOf('\u0000') + 1));
}

/** Names that cannot be written in range notation (IPv6 uses brackets itself). */
function unfoldable(host: string): boolean {
  return host.includes('[') || host.includes(']') || host.includes(',') || (host.match(/:/g) ?? []).length > 1;
}

/** Fold hosts into the shortest comma-separated range notation this greedy pass finds. */
export function foldHosts(hosts: readonly string[]): string {
  const unique = [...new Set(hosts)];
  let items: Part[][] = [];
  const kept: string[] = [];
  let maxParts = 0;
  for (const h of unique) {
    if (unfoldable(h)) {
      kept.push(h);
      continue;
    }
    const parts = splitParts(h);
    items.push(parts);
    // A loop, not Math.max(...lengths): a million arguments overflow the stack.
    if (parts.length > maxParts) maxParts = parts.length;
  }
  // Fold the right-most numeric field first (10.0.1.[1-250]), then the ones to its left. Items
  // merge at field k when every other part reads the same; field k's width plays no part (01..11).
  for (let k = maxParts - 1; k >= 0; k--) {
    const groups = new Map<string, Part[][]>();
    const next: Part[][] = [];
    for (const parts of items) {
      // No number at k: nothing to merge with (every item reads differently).
      if (k >= parts.length || !isNumeric(parts[k]!)) {
        next.push(parts);
        continue;
      }
      const key = keyWithout(parts, k);
      const list = groups.get(key);
      if (list) list.push(parts);
      else groups.set(key, [parts]);
    }
    items = next;
    for (const list of groups.values()) {
      if (list.length === 1) {
        items.push(list[0]!);
        continue;
      }
      const values: string[] = [];
      for (const p of list) {
        const field = p[k]!;
        if (typeof field === 'string') values.push(field);
        else for (const v of field.values) values.push(v);
      }
      const merged = list[0]!.slice();
      merged[k] = new NumSet(values);
      items.push(merged);
    }
  }
  const folded = sortNaturally(items);
  for (const h of kept) folded.push(h);
  return folded.join(',');
}

/** Every part but `skip`, so items that read the same everywhere else can merge at `skip`. */
function keyWithout(parts: Part[], skip: number): string {
  let key = `${parts.length}`;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    key += i === skip ? '\u0000#' : `\u0000${text(p)}`;
  }
  return key;
}
