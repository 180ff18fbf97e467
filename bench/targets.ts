// The bench's numbers against issue 16's and 17's targets, as markdown lines under the tables.

/** "0.83× (target <= 1.25: met)"; a missing side says which. */
export function against(num: number | undefined, den: number | undefined, max: number | null): string {
  if (num === undefined || den === undefined || den === 0) return 'not measured';
  const r = num / den;
  return `${r.toFixed(2)}×${max === null ? '' : ` (target <= ${max}: ${r <= max ? 'met' : 'NOT met'})`}`;
}

/** What fleetTargets reads of a bench row. */
export interface TargetRow {
  case: string;
  tool: string;
  wallS: number;
  cpuMsPerHost: number;
  peakRssMiB: number;
  peakSessions?: number;
  failed: boolean;
}

/** Issue 17's CPU and memory targets, from the `true, 300 hosts` and `memory:` rows (none when neither ran). */
export function fleetTargets(rows: TargetRow[]): string[] {
  const lines: string[] = [];
  const of = (prefix: string, tool: string): TargetRow | undefined =>
    rows.find((r) => r.case.startsWith(prefix) && r.tool === tool);
  const herd = of('true, 300 hosts', 'herd');
  if (herd) {
    const cpu = (t: string): number | undefined => of('true, 300 hosts', t)?.cpuMsPerHost;
    lines.push(
      `- true, 300 hosts: herd's controller CPU per host / ssh2-loop's ${against(herd.cpuMsPerHost, cpu('ssh2-loop'), 1.25)}` +
        `, / pssh's ${against(herd.cpuMsPerHost, cpu('pssh'), 0.4)}`,
    );
  }
  const mHerd = of('memory:', 'herd');
  const mLoop = of('memory:', 'ssh2-loop');
  if (mHerd) {
    lines.push(
      `- ${mHerd.case}: herd's peak tree memory / ssh2-loop's ${against(mHerd.peakRssMiB, mLoop?.peakRssMiB, null)}` +
        ` (${mHerd.peakRssMiB.toFixed(0)} MiB / ${mLoop?.peakRssMiB.toFixed(0) ?? '?'} MiB; sessions seen` +
        ` at once: herd ${mHerd.peakSessions ?? '?'}, ssh2-loop ${mLoop?.peakSessions ?? '?'})`,
    );
  }
  const wall = (c: string, t: string): number | undefined => rows.find((r) => r.case === c && r.tool === t)?.wallS;
  if (wall('small: true, 1 host', 'herd') !== undefined)
    lines.push(
      `- small: true, 1 host: herd's wall time / ssh's ${against(wall('small: true, 1 host', 'herd'), wall('small: true, 1 host', 'ssh'), 1.25)}`,
    );
  if (wall('small: true, 5 hosts', 'herd') !== undefined)
    lines.push(
      `- small: true, 5 hosts: herd's wall time / pssh's ${against(wall('small: true, 5 hosts', 'herd'), wall('small: true, 5 hosts', 'pssh'), 1)}`,
    );
  return lines.length === 0 ? [] : ['', 'Targets (issue 17):', ...lines];
}
