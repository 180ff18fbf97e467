// The report's two charts as inline SVG: counts by status and a histogram of host durations.
// Hand-written rather than a chart library: two plain bar charts are ~80 lines, need no script,
// render in a screenshot or with scripts off, and add no dependency to audit. Pure.
import { escapeHtml } from './escape.js';

const COLOURS: Record<string, string> = {
  ok: '#2e7d32',
  failed: '#c62828',
  unreachable: '#ef6c00',
  auth_failed: '#ad1457',
  hostkey_mismatch: '#6a1b9a',
  hostkey_unknown: '#8e24aa',
  timeout: '#f9a825',
  diverged: '#1565c0',
  unverified: '#5d4037',
  interrupted: '#546e7a',
  not_started: '#90a4ae',
  error: '#b71c1c',
};

export const statusColour = (status: string): string => COLOURS[status] ?? '#616161';

function svgOpen(label: string, width: number, height: number): string {
  return `<svg class="chart" role="img" aria-label="${label}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`;
}

/** Horizontal bars, one per status, each a link that filters the host table. */
export function countsChart(counts: [string, number][]): string {
  const max = Math.max(1, ...counts.map(([, n]) => n));
  const row = 26;
  const width = 560;
  const label = 130;
  const bars = counts.map(([status, n], i) => {
    const w = Math.max(2, Math.round(((width - label - 70) * n) / max));
    const y = i * row;
    const s = escapeHtml(status);
    return (
      `<a href="#status=${encodeURIComponent(status)}"><g>` +
      `<title>${n} ${s}</title>` +
      `<text x="${label - 8}" y="${y + 17}" text-anchor="end">${s}</text>` +
      `<rect x="${label}" y="${y + 4}" width="${w}" height="${row - 8}" fill="${statusColour(status)}"/>` +
      `<text x="${label + w + 6}" y="${y + 17}">${n}</text></g></a>`
    );
  });
  const h = Math.max(row, counts.length * row);
  return `${svgOpen('hosts by status', width, h)}${bars.join('')}</svg>`;
}

export interface Histogram {
  /** Bin width in ms; bin i holds durations in [i*width, (i+1)*width), the last also the maximum. */
  width: number;
  bins: number[];
}

export function histogram(durations: number[], binCount = 24): Histogram {
  const max = Math.max(0, ...durations);
  const width = Math.max(1, Math.ceil((max + 1) / binCount));
  const bins = new Array<number>(binCount).fill(0);
  for (const d of durations) bins[Math.min(binCount - 1, Math.floor(Math.max(0, d) / width))]!++;
  return { width, bins };
}

/** Duration at the q-th quantile (nearest rank). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/**
 * Columns of host counts per duration bin. Heights are on a square-root scale so a tail of one or
 * two slow hosts next to thousands of fast ones is still a visible bar (the counts are in each title).
 */
export function durationChart(h: Histogram): string {
  const width = 560;
  const height = 160;
  const base = height - 24;
  const col = (width - 20) / h.bins.length;
  const top = Math.sqrt(Math.max(1, ...h.bins));
  const bars = h.bins.map((n, i) => {
    const bh = n === 0 ? 0 : Math.max(2, Math.round(((base - 8) * Math.sqrt(n)) / top));
    const x = 10 + i * col;
    const range = `${seconds(i * h.width)} – ${seconds((i + 1) * h.width)}`;
    const box = `x="${x.toFixed(1)}" y="${base - bh}" width="${(col - 2).toFixed(1)}" height="${bh}"`;
    return `<rect ${box} fill="#455a64"><title>${n} hosts: ${range}</title></rect>`;
  });
  const axis =
    `<line x1="10" y1="${base}" x2="${width - 10}" y2="${base}" stroke="#999"/>` +
    `<text x="10" y="${height - 6}">0 s</text>` +
    `<text x="${width - 10}" y="${height - 6}" text-anchor="end">${seconds(h.width * h.bins.length)}</text>`;
  return `${svgOpen('histogram of host durations', width, height)}${bars.join('')}${axis}</svg>`;
}
