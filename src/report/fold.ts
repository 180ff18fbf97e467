// Fold host names into range notation (`10.0.[1-3].[1-250]`): the inverse of the inventory's
// range expansion, so expanding the folded text gives back exactly the same set. Pure.

type Part = string | NumField;

interface NumField {
  /** Zero-padding width (0 when the numbers are not padded). */
  width: number;
  values: number[];
}

const isNum = (p: Part): p is NumField => typeof p !== 'string';

/** Split `web01.dc1` into ['web', {01}, '.dc', {1}]. */
function splitParts(host: string): Part[] {
  const parts: Part[] = [];
  for (const m of host.matchAll(/(\d+)|(\D+)/g)) {
    if (m[1] !== undefined) parts.push({ width: m[1].length > 1 && m[1].startsWith('0') ? m[1].length : 0, values: [Number(m[1])] });
    else parts.push(m[2]!);
  }
  return parts;
}

function formatNum(f: NumField): string {
  const pad = (n: number): string => (f.width > 0 ? String(n).padStart(f.width, '0') : String(n));
  const sorted = [...new Set(f.values)].sort((a, b) => a - b);
  if (sorted.length === 1) return pad(sorted[0]!);
  const runs: string[] = [];
  let start = sorted[0]!;
  let prev = start;
  for (const n of [...sorted.slice(1), Number.NaN]) {
    if (n === prev + 1) {
      prev = n;
      continue;
    }
    runs.push(start === prev ? pad(start) : `${pad(start)}-${pad(prev)}`);
    start = n;
    prev = n;
  }
  return `[${runs.join(',')}]`;
}

function render(parts: Part[]): string {
  return parts.map((p) => (isNum(p) ? formatNum(p) : p)).join('');
}

/** Key of every part but `skip`, so items equal everywhere else can merge at `skip`. */
function signature(parts: Part[], skip: number): string {
  return parts.map((p, i) => (i === skip ? (isNum(p) ? `#${p.width}` : `!${p}`) : isNum(p) ? `${p.width}:${formatNum(p)}` : p)).join('\u0000');
}

/** Names that cannot be written in range notation (IPv6 uses brackets itself). */
function unfoldable(host: string): boolean {
  return host.includes('[') || host.includes(']') || host.includes(',') || (host.match(/:/g) ?? []).length > 1;
}

/** Fold hosts into the shortest comma-separated range notation this greedy pass finds. */
export function foldHosts(hosts: string[]): string {
  const unique = [...new Set(hosts)];
  const plain = unique.filter((h) => !unfoldable(h));
  let items = plain.map(splitParts);
  const maxParts = Math.max(0, ...items.map((p) => p.length));
  // Fold the right-most numeric field first (10.0.1.[1-250]), then the ones to its left.
  for (let k = maxParts - 1; k >= 0; k--) {
    const groups = new Map<string, Part[][]>();
    for (const parts of items) {
      const key = `${parts.length}\u0001${isNum(parts[k] ?? '') ? signature(parts, k) : `x${render(parts)}`}`;
      const list = groups.get(key) ?? [];
      list.push(parts);
      groups.set(key, list);
    }
    items = [...groups.values()].map((list) => {
      if (list.length === 1) return list[0]!;
      const merged = [...list[0]!];
      merged[k] = { width: (list[0]![k] as NumField).width, values: list.flatMap((p) => (p[k] as NumField).values) };
      return merged;
    });
  }
  const folded = items.map(render).sort(compareNatural);
  return [...folded, ...unique.filter(unfoldable)].join(',');
}

function compareNatural(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
