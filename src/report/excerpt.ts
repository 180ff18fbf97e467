// The start of a failed host's stderr, reduced to what groups it with the same error on other hosts:
// its first lines, the host's own name and address masked, whitespace normalised. Pure.
import { parseHostSpec } from '../inventory/host-spec.js';
import type { OutputHead } from '../results/output-head.js';

export interface Excerpt {
  /** Equal for hosts whose shown lines are the same up to whitespace and their own name. */
  key: string;
  /** The lines shown: masked, trailing whitespace cut, long lines cut. */
  lines: string[];
  /** Lines after the shown ones; exact when `cut` is false, a lower bound when the file was longer than its head. */
  more: number;
  cut: boolean;
}

export const EXCERPT_LINES = 4;
const LINE_CHARS = 160;
export const HOST_MASK = '<host>';

/** What stands for the host in its own output: its inventory name, with and without user and port. */
export function hostMasks(id: string): string[] {
  const masks = new Set([id]);
  try {
    const spec = parseHostSpec(id);
    masks.add(spec.host);
    if (spec.port !== undefined)
      masks.add(spec.host.includes(':') ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`);
  } catch {
    // A name that is not a host spec (a hand-made run directory) is masked as written.
  }
  return [...masks].filter((m) => m !== '').sort((a, b) => b.length - a.length);
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Replace the host's names by HOST_MASK where they stand alone: `10.0.0.1` is not masked inside
 * `10.0.0.12` or `110.0.0.1`, `web1` not inside `web12` or `prod-web1`; `web1.example.com` becomes
 * `<host>.example.com`, `dd-10.0.0.1.disk` becomes `dd-<host>.disk`.
 */
export function maskHost(text: string, masks: string[]): string {
  if (masks.length === 0) return text;
  // An address also stands alone after a dash (`/tmp/dd-10.0.0.1.disk`); a name does not (`prod-db1` is not `db1`).
  const alone = (m: string): string =>
    `${/^[0-9[]/.test(m) ? '(?<![A-Za-z0-9_.])' : '(?<![A-Za-z0-9_.-])'}${escapeRe(m)}`;
  const re = new RegExp(`(?:${masks.map(alone).join('|')})(?![A-Za-z0-9_-])(?!\\.[0-9])`, 'gi');
  return text.replace(re, HOST_MASK);
}

/** The excerpt of one host's stderr head; null when it holds nothing but whitespace. */
export function excerptOf(head: OutputHead, masks: string[]): Excerpt | null {
  const cut = head.bytes > head.headBytes;
  const all = head.text.split('\n');
  // A head cut inside a line ends with a part of that line: it is not shown as if whole.
  if (cut) all.pop();
  else if (all.at(-1) === '') all.pop();
  const shown: string[] = [];
  let i = 0;
  for (; i < all.length && shown.length < EXCERPT_LINES; i++) {
    const line = maskHost(all[i]!, masks).trimEnd();
    if (line.trim() !== '') shown.push(line);
  }
  if (shown.length === 0 && !cut) return null;
  if (shown.length === 0) {
    // One line longer than the whole head: show its start.
    const start = maskHost(head.text, masks).trimEnd();
    return { key: normalise(start), lines: [clip(start, true)], more: 0, cut: true };
  }
  const more = all.slice(i).filter((l) => l.trim() !== '').length;
  return { key: shown.map(normalise).join('\n'), lines: shown.map((l) => clip(l, false)), more, cut };
}

function normalise(line: string): string {
  return line.replace(/\s+/g, ' ').trim();
}

/** At most LINE_CHARS characters (code points: a cut never splits a surrogate pair). */
function clip(line: string, partial: boolean): string {
  const chars = [...line];
  return chars.length > LINE_CHARS ? `${chars.slice(0, LINE_CHARS).join('')}…` : partial ? `${line}…` : line;
}
