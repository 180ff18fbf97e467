// The warm case (issue 16): `true` on 200 hosts five times in a row, per tool, on the same fleet. The first run
// pays the handshakes; what the later runs cost shows what a tool keeps between commands: herd cold (a full
// handshake per host every run), herd over its persistent connections (`--persist`), `herd shell` (five piped
// lines over held connections), parallel-ssh over OpenSSH's ControlMaster/ControlPersist, Ansible over its own
// default ControlPersist. Everything a tool leaves behind (masters, a keeper) is ended by pid afterwards.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { endTagged, setAside } from './measure.js';
import { median, runOnFleet, type FleetRef, type FleetRun } from './on-fleet.js';
import { against } from './targets.js';
import { ANSIBLE_ENV, ansibleAdHoc, herdArgv, pssh, type BenchContext } from './tools.js';

export const WARM_CASE = 'warm: true, 200 hosts, 5 runs in a row';
export const WARM_HOSTS = 200;
const RUNS_IN_A_ROW = 5;
const PERSIST = '60s';

interface WarmTool {
  name: string;
  /** Why it cannot run here (not installed, not in this build), or null. */
  missing(ctx: BenchContext): string | null;
  /** One process per run (argv per run), or one process for all runs (`herd shell`). */
  argv(ctx: BenchContext, command: string): string[];
  oneProcess?: boolean;
  env?(ctx: BenchContext): NodeJS.ProcessEnv;
  /** Ask the tool to end what it keeps (before the bench ends the tagged processes by pid). */
  close?(ctx: BenchContext): void;
}

export interface WarmRow {
  tool: string;
  firstS: number;
  /** Median of runs 2..5. */
  warmS: number;
  /** Controller CPU per host and run: the tool's tree plus its background processes, over all five runs. */
  cpuMsPerHost: number;
  /** The fleet's sshd CPU over all five runs. */
  sshdCpuS: number;
  /** Logins the fleet's sshd accepted over all five runs, per host: 1.00 when connections were kept. */
  handshakesPerHost: number;
  failed: boolean;
  note?: string;
}

const herdBin = (ctx: BenchContext): string => path.join(ctx.herdRoot, 'bin', 'herd');

/** The subcommand's --help, or null when this build has no such subcommand (commander then shows the top help). */
function herdHelp(ctx: BenchContext, sub: string): string | null {
  const r = spawnSync(herdBin(ctx), [sub, '--help'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && r.stdout.includes(`Usage: herd ${sub} `) ? r.stdout : null;
}

const installed = (binary: string) => (): string | null => (fs.existsSync(binary) ? null : 'not installed');

/** herd's usual bench options, minus any the subcommand's --help does not list (a shell may take fewer). */
function herdFor(ctx: BenchContext, sub: string, ...rest: string[]): string[] {
  const help = herdHelp(ctx, sub) ?? '';
  const argv = herdArgv(ctx, sub, ...rest);
  return argv.filter((a, i) => !(a === '-q' && i > 1 && !help.includes('--quiet')));
}

export const WARM_TOOLS: WarmTool[] = [
  {
    name: 'herd (cold)',
    missing: () => null,
    argv: (ctx, command) => herdArgv(ctx, 'run', command),
  },
  {
    name: `herd --persist ${PERSIST}`,
    missing: (ctx) => (herdHelp(ctx, 'run')?.includes('--persist') ? null : 'not in this build'),
    argv: (ctx, command) => herdArgv(ctx, 'run', '--persist', PERSIST, command),
    close: (ctx) => void spawnSync(herdBin(ctx), ['connections', '--close'], { timeout: 30_000, env: benchEnv(ctx) }),
  },
  {
    name: 'herd shell (5 piped lines)',
    missing: (ctx) => (herdHelp(ctx, 'shell') === null ? 'not in this build' : null),
    oneProcess: true,
    argv: (ctx, command) => {
      const lines = path.join(ctx.work, 'warm-lines.txt');
      fs.writeFileSync(lines, `${command}\n`.repeat(RUNS_IN_A_ROW));
      return ['bash', '-c', 'exec "$@" < "$0"', lines, ...herdFor(ctx, 'shell')];
    },
  },
  {
    name: 'pssh (ControlPersist 60s)',
    missing: installed('/usr/bin/parallel-ssh'),
    argv: (ctx, command) =>
      pssh(ctx, command, ctx.algorithms, [
        '-o ControlMaster=auto',
        '-o ControlPersist=60',
        `-o ControlPath=${path.join(ctx.work, 'cm', '%C')}`,
      ]),
  },
  {
    // -m raw: one ssh per host and run, as the other tools (the command module would add Python on the host).
    name: 'ansible -m raw (ControlPersist 60s)',
    missing: installed('/usr/bin/ansible'),
    argv: (ctx, command) => ansibleAdHoc(ctx, 'raw', command),
    // Ansible's own default ssh_args (-C -o ControlMaster=auto -o ControlPersist=60s), plus the fleet's and herd's
    // algorithms; its control sockets go to ~/.ansible/cp under the bench's HOME.
    env: (ctx) => ({
      ...ANSIBLE_ENV(ctx),
      ANSIBLE_SSH_ARGS: [
        '-C -o ControlMaster=auto -o ControlPersist=60s',
        '-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR',
        ...ctx.algorithms,
      ].join(' '),
    }),
  },
];

const benchEnv = (ctx: BenchContext): NodeJS.ProcessEnv => ({ ...process.env, HOME: ctx.work });

/** run.json of every run under DIR, oldest first: herd shell writes one run directory per line. */
function runRecords(dir: string): { startedMs: number; endedMs: number }[] {
  const found: { startedMs: number; endedMs: number }[] = [];
  const walk = (d: string, depth: number): void => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && depth < 3) walk(p, depth + 1);
      else if (e.name === 'run.json') {
        const r = JSON.parse(fs.readFileSync(p, 'utf8')) as { started_at?: string; ended_at?: string | null };
        if (r.started_at && r.ended_at)
          found.push({ startedMs: Date.parse(r.started_at), endedMs: Date.parse(r.ended_at) });
      }
    }
  };
  walk(dir, 0);
  return found.sort((a, b) => a.startedMs - b.startedMs);
}

/**
 * Five runs of one tool. One process per run: each run measured on its own. `herd shell`: one process, each
 * line's time from its run directory (first: from the start of the process to the end of the first line's run,
 * the handshakes included; then from the end of one line's run to the end of the next).
 */
async function sequence(
  fleet: FleetRef,
  ctx: BenchContext,
  tool: WarmTool,
  command: string,
  tag: string,
): Promise<WarmRow> {
  const env = { ...benchEnv(ctx), ...(tool.env?.(ctx) ?? {}) };
  const runsDir = path.join(ctx.work, 'runs');
  setAside(runsDir, ctx.work);
  fs.rmSync(path.join(ctx.work, 'cm'), { recursive: true, force: true });
  fs.mkdirSync(path.join(ctx.work, 'cm'), { recursive: true, mode: 0o700 });
  fs.rmSync(path.join(ctx.work, '.ansible', 'cp'), { recursive: true, force: true });
  const runs: FleetRun[] = [];
  let walls: number[];
  let note: string | undefined;
  const opts = { timeoutMs: 300_000, tag, mark: ctx.work };
  if (tool.oneProcess) {
    const startedMs = Date.now();
    const m = await runOnFleet(fleet, tool.argv(ctx, command), env, ctx.work, opts);
    runs.push(m);
    const recs = runRecords(runsDir);
    walls = recs.map((r, i) => (i === 0 ? r.endedMs - startedMs : r.endedMs - recs[i - 1]!.endedMs) / 1000);
    if (recs.length !== RUNS_IN_A_ROW) note = `${recs.length} run directories for ${RUNS_IN_A_ROW} lines`;
  } else {
    for (let i = 0; i < RUNS_IN_A_ROW; i++) {
      runs.push(await runOnFleet(fleet, tool.argv(ctx, command), env, ctx.work, opts));
      setAside(runsDir, ctx.work);
    }
    walls = runs.map((m) => m.wallS);
  }
  const left = runs.at(-1)!.background;
  tool.close?.(ctx);
  const ended = await endTagged(tag, ctx.work);
  const sum = (f: (m: FleetRun) => number): number => runs.reduce((s, m) => s + f(m), 0);
  if (left > 0) {
    const held = `${left} background processes held between runs; ${ended} still there at the end, ended by pid`;
    note = note === undefined ? held : `${note}; ${held}`;
  }
  return {
    tool: tool.name,
    firstS: walls[0] ?? NaN,
    warmS: walls.length > 1 ? median(walls.slice(1)) : NaN,
    cpuMsPerHost: (sum((m) => m.cpuS) * 1000) / (ctx.hosts.length * RUNS_IN_A_ROW),
    sshdCpuS: sum((m) => m.sshdCpuS),
    handshakesPerHost: sum((m) => m.logins) / ctx.hosts.length,
    failed: runs.some((m) => m.exitCode !== 0) || walls.length !== RUNS_IN_A_ROW,
    ...(note === undefined ? {} : { note }),
  };
}

/** Every warm tool that can run here, one after the other; the rest listed with why not. */
export async function warmCase(
  fleet: FleetRef,
  ctx: BenchContext,
  wanted: (name: string) => boolean,
  tagOf: () => string,
  log: (line: string) => void,
): Promise<{ rows: WarmRow[]; skipped: string[] }> {
  const rows: WarmRow[] = [];
  const skipped: string[] = [];
  for (const tool of WARM_TOOLS.filter((t) => wanted(t.name))) {
    const why = tool.missing(ctx);
    if (why !== null) {
      skipped.push(`${tool.name} (${why})`);
      continue;
    }
    const row = await sequence(fleet, ctx, tool, 'true', tagOf());
    log(
      `${WARM_CASE}: ${row.tool.padEnd(36)} first ${row.firstS.toFixed(2)}s  warm ${row.warmS.toFixed(2)}s  ` +
        `cpu ${row.cpuMsPerHost.toFixed(1)} ms/host/run  handshakes ${row.handshakesPerHost.toFixed(2)}/host` +
        `${row.failed ? '  (errors)' : ''}${row.note ? `  (${row.note})` : ''}`,
    );
    rows.push(row);
  }
  return { rows, skipped };
}

export function formatWarm(rows: WarmRow[], skipped: string[]): string[] {
  if (rows.length === 0 && skipped.length === 0) return [];
  const pssh = rows.find((r) => r.tool.startsWith('pssh'));
  const r2 = (a: number, b: number | undefined): string => (b === undefined ? '' : (a / b).toFixed(2));
  const lines = [
    '',
    `${WARM_CASE} (same crypto as above; first run, then the median of runs 2-5; CPU and handshakes over all five)`,
    '',
    '| tool | first run s | warm run s | warm / pssh warm | CPU ms/host/run | sshd CPU s | handshakes/host | note |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map(
      (r) =>
        `| ${r.tool}${r.failed ? ' (errors)' : ''} | ${r.firstS.toFixed(2)} | ${r.warmS.toFixed(2)} | ` +
        `${r2(r.warmS, pssh?.warmS)} | ${r.cpuMsPerHost.toFixed(1)} | ${r.sshdCpuS.toFixed(1)} | ` +
        `${r.handshakesPerHost.toFixed(2)} | ${r.note ?? ''} |`,
    ),
  ];
  if (skipped.length > 0) lines.push('', `skipped: ${skipped.join(', ')}`);
  const cold = rows.find((r) => r.tool === 'herd (cold)');
  const warm = rows.filter((r) => r.tool.startsWith('herd') && r !== cold && !r.failed);
  lines.push(
    '',
    'Targets (issue 16):',
    `- herd cold, first run / pssh's first run: ${against(cold?.firstS, pssh?.firstS, 1)}`,
    ...(warm.length === 0
      ? ['- herd warm / pssh warm: not measured (no --persist, no herd shell in this build)']
      : warm.map((r) => `- ${r.tool}, warm run / pssh's warm run: ${against(r.warmS, pssh?.warmS, 0.4)}`)),
  );
  return lines;
}
