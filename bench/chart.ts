// A small SVG chart: herd's wall time and peak memory against host count.
interface Point {
  hosts: number;
  wallS: number;
  peakRssMiB: number;
}

export function renderChart(points: Point[]): string {
  const w = 640;
  const h = 320;
  const pad = 50;
  const maxHosts = Math.max(1, ...points.map((p) => p.hosts));
  const maxWall = Math.max(1, ...points.map((p) => p.wallS));
  const maxMem = Math.max(1, ...points.map((p) => p.peakRssMiB));
  const x = (n: number): number => pad + ((w - 2 * pad) * n) / maxHosts;
  const y = (v: number, max: number): number => h - pad - ((h - 2 * pad) * v) / max;
  const line = (f: (p: Point) => number, max: number): string =>
    points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.hosts).toFixed(1)},${y(f(p), max).toFixed(1)}`).join(' ');
  const labels = points
    .map(
      (p) =>
        `<text x="${x(p.hosts).toFixed(1)}" y="${h - pad + 16}" font-size="11" text-anchor="middle">${p.hosts}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${pad}" y="20" font-size="14">herd: wall time (blue, max ${maxWall.toFixed(1)} s) and peak tree memory (red, max ${maxMem.toFixed(0)} MiB) vs hosts</text>
<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="black"/>
<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="black"/>
<path d="${line((p) => p.wallS, maxWall)}" fill="none" stroke="steelblue" stroke-width="2"/>
<path d="${line((p) => p.peakRssMiB, maxMem)}" fill="none" stroke="firebrick" stroke-width="2"/>
${labels}
</svg>
`;
}
