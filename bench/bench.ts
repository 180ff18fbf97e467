// npm run bench: herd side by side with pssh, pdsh, ClusterShell and Ansible on one loopback fleet.
// Reports wall time (median of runs), controller CPU of the whole process tree, its peak summed
// RSS, and the CPU the fleet's sshd spent; writes a table, a JSON file and an SVG chart.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFleet } from '../test/fleet/fleet.js';
import { endTagged, setAside } from './measure.js';
import { median, runOnFleet, type FleetRef, type FleetRun } from './on-fleet.js';
import {
  HERD_BEFORE,
  herdBuild,
  PEER_DEFAULTS,
  PLAYBOOK_TOOLS,
  TOOLS,
  TRANSFER_TOOLS,
  type BenchContext,
  type PlaybookKind,
  type PlaybookTool,
  type Tool,
  type TransferTool,
} from './tools.js';
import { renderChart } from './chart.js';
import { fleetTargets } from './targets.js';
import { Gate } from './gate.js';
import { formatWarm, WARM_CASE, WARM_HOSTS, warmCase, type WarmRow } from './warm.js';
import { describeAlgorithms, negotiate, sameAlgorithms, type Negotiated } from './negotiated.js';
import { KNOWN_HOSTS_CASE, knownHostsBench } from './known-hosts.js';
import { runSimCase, SIM_CASES, SIM_QUICK_CASES, simTargets } from './sim/scale.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--tools='))
  ?.slice(8)
  .split(',');
const caseFilter = process.argv.find((a) => a.startsWith('--cases='))?.slice(8);
/**
 * NODE_EXTRA_CA_CERTS is unset for every tool: some machines set it machine-wide (for a package proxy), and Node parses
 * that CA bundle as each process starts (~0.1 s of CPU here), a cost of the machine no tool measured here needs (none
 * speaks TLS) that falls on the Node-based tools once per process. The header says when it was set.
 */
const extraCaCerts = process.env['NODE_EXTRA_CA_CERTS'];
delete process.env['NODE_EXTRA_CA_CERTS'];
/** --herd-before DIR: also run DIR's herd build (its own dist/), labelled "herd (before)", wherever herd runs. */
const herdBefore = ((i) =>
  i >= 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith('--herd-before='))?.slice(14))(
  process.argv.indexOf('--herd-before'),
);
/** --herd DIR: the herd rows run DIR's build (its bin/herd and dist/) instead of this checkout's. */
const herdRoot = path.resolve(
  ((i) => (i >= 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith('--herd='))?.slice(7)))(
    process.argv.indexOf('--herd'),
  ) ?? root,
);
/** --max-case-seconds=N: stop each simulator case after N s at most (a smoke run of the 10k/50k cases). */
const maxCaseS = Number(process.argv.find((a) => a.startsWith('--max-case-seconds='))?.slice(19) ?? Infinity);
/**
 * --work-dir=DIR: where the bench keeps its fleets and every tool's output (herd's run directories among them);
 * default the temp dir. The header says what a new file costs there: herd writes files per host (its results), and
 * on a machine whose /tmp was churned by many short-lived files a new inode there can cost several times what it
 * costs elsewhere on the same disk.
 */
const workParent = path.resolve(process.argv.find((a) => a.startsWith('--work-dir='))?.slice(11) ?? os.tmpdir());
const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? (quick ? 1 : 3));

interface Case {
  name: string;
  hosts: number;
  forks: number;
  command: string;
  tools: string[];
  /** Transfer cases push or pull the bench tree instead of running a command. */
  transfer?: 'push' | 'pull';
  /** A playbook instead of a command. */
  playbook?: PlaybookKind;
  /** Sessions wait on a gate that opens once all are seen at once (bench/gate.ts); the most at once is reported. */
  gate?: boolean;
  /** Repetitions of this case (default: --runs). */
  runs?: number;
}

const PLAYBOOK_CASE: Case = {
  name: 'playbook: 5 guarded steps, 200 hosts',
  hosts: 200,
  forks: 200,
  command: '',
  tools: ['herd', 'ansible'],
  playbook: 'guarded',
};
/** One pool per run: handshakes per host show whether connections outlive a gate (1) or not (3). */
const GATES_CASE: Case = {
  name: 'playbook: 2 consensus gates, serial 25%, 200 hosts',
  hosts: 200,
  forks: 200,
  command: '',
  tools: ['herd'],
  playbook: 'gates',
};

const TREE_CASES: Case[] = [
  {
    name: 'tree pull (1000 x 4 KB + 2 x 20 MB), 20 hosts',
    hosts: 20,
    forks: 20,
    command: '',
    tools: ['herd', 'pssh'],
    transfer: 'pull',
  },
  {
    name: 'tree push (1000 x 4 KB + 2 x 20 MB), 20 hosts',
    hosts: 20,
    forks: 20,
    command: '',
    tools: ['herd', 'pssh'],
    transfer: 'push',
  },
];

/** The issue's target is stated on 300 hosts: every peer, and the peers once more with OpenSSH's own defaults. */
const TRUE_300: Case = {
  name: 'true, 300 hosts',
  hosts: 300,
  forks: 300,
  command: 'true',
  tools: ['herd', 'ssh2-loop', 'pssh', 'pdsh', 'clush', 'ansible', PEER_DEFAULTS],
};

/**
 * herd's peak tree memory against the bare ssh2 loop's (one process) with 1,000 sessions open at once: each
 * session blocks on a gate (bench/gate.ts) that opens once all 1,000 have been seen running for 3 s, so both
 * tools really hold them together however slowly this machine handshakes. The loop keeps at most 64 handshakes
 * in flight (herd paces its own), or a loaded sshd times out its backlog.
 */
const MEMORY_CASE: Case = {
  name: 'memory: 1000 sessions held at once',
  hosts: 1000,
  forks: 1000,
  command: '',
  tools: ['herd', 'ssh2-loop'],
  gate: true,
};

/** Time to the first answer: most ad-hoc commands touch a handful of hosts (wall time, median of 10). */
const SMALL_CASES: Case[] = [1, 5].map((n) => ({
  name: `small: true, ${n} host${n === 1 ? '' : 's'}`,
  hosts: n,
  forks: n,
  command: 'true',
  tools: ['herd', 'ssh', 'pssh'],
  runs: 10,
}));

const CASES: Case[] = quick
  ? [
      // Every kind of case once, small enough to finish in about five minutes on two cores.
      { ...TRUE_300, tools: ['herd', 'ssh2-loop', 'pssh', 'pdsh', 'clush'] },
      ...SMALL_CASES,
      MEMORY_CASE,
      ...TREE_CASES,
      { ...PLAYBOOK_CASE, name: 'playbook: 5 guarded steps, 20 hosts', hosts: 20, forks: 20 },
      { ...GATES_CASE, name: 'playbook: 2 consensus gates, serial 25%, 20 hosts', hosts: 20, forks: 20 },
    ]
  : [
      TRUE_300,
      ...SMALL_CASES,
      {
        name: 'true, 1000 hosts',
        hosts: 1000,
        forks: 200,
        command: 'true',
        tools: ['herd', 'ssh2-loop', 'pssh', 'pdsh', 'clush'],
      },
      {
        name: 'sleep 3, 1000 hosts at forks 1000',
        hosts: 1000,
        forks: 1000,
        command: 'sleep 3',
        tools: ['herd', 'ssh2-loop', 'pssh', 'pdsh', 'clush'],
      },
      MEMORY_CASE,
      ...TREE_CASES,
      PLAYBOOK_CASE,
      GATES_CASE,
      ...[100, 500, 1000, 2000].map((n) => ({
        name: `scale: sleep 1, ${n} hosts at forks ${n}`,
        hosts: n,
        forks: n,
        command: 'sleep 1',
        tools: ['herd'],
      })),
    ];

interface Row {
  case: string;
  tool: string;
  hosts: number;
  wallS: number;
  cpuMsPerHost: number;
  peakRssMiB: number;
  sshdCpuS: number;
  /** Logins the fleet's sshd accepted, per host (its log is the oracle: every tool alike). */
  handshakesPerHost: number;
  failed: boolean;
  /** Stopped by its time bound before it finished (simulator cases). */
  stoppedAtS?: number;
  /** Most sessions running at once on the simulator (simulator cases). */
  peakSessions?: number;
}

let tagSeq = 0;
/** herd builds whose code cache an untimed first run has written (see fleetCases). */
const primed = new Set<string>();
/** The warm case's rows, when it ran (its table is apart: five runs in a row per tool, not one run per row). */
let warmResult: { rows: WarmRow[]; skipped: string[] } | undefined;

/**
 * The bench tree (1000 x 4 KB + 2 x 20 MB) once locally and once as the "remote" tree every
 * loopback host serves; fresh() gives an empty destination per run so nothing is skipped.
 */
function prepareTree(
  work: string,
  hosts: string[],
): { localTree: string; remoteTree: string; fresh: (d: 'push' | 'pull') => string } {
  const localTree = path.join(work, 'tree');
  if (!fs.existsSync(localTree)) {
    fs.mkdirSync(path.join(localTree, 'small'), { recursive: true });
    for (let i = 0; i < 1000; i++)
      fs.writeFileSync(path.join(localTree, 'small', `f${i}`), Buffer.alloc(4096, i % 251));
    for (const name of ['big1', 'big2'])
      fs.writeFileSync(path.join(localTree, name), Buffer.alloc(20 * 1024 * 1024, 1));
    fs.chmodSync(work, 0o755);
  }
  let n = 0;
  return {
    localTree,
    remoteTree: localTree,
    fresh: (direction) => {
      const dest = path.join(work, `dest-${direction}-${n++}`);
      fs.rmSync(path.join(work, `dest-${direction}-${n - 2}`), { recursive: true, force: true });
      fs.mkdirSync(dest, { recursive: true, mode: 0o777 });
      fs.chmodSync(dest, 0o777);
      // Every host writes into the same machine: give each its own folder on push.
      if (direction === 'push')
        for (const h of [...hosts, 'shared'])
          fs.chmodSync(fs.mkdirSync(path.join(dest, h), { recursive: true }) ?? path.join(dest, h), 0o777);
      return direction === 'push' ? path.join(dest, '{{ host }}') : dest;
    },
  };
}

async function main(): Promise<void> {
  // Pure lookups, no fleet: CPU time, so it runs first, alone on the machine.
  const knownHosts =
    !caseFilter || KNOWN_HOSTS_CASE.includes(caseFilter) ? knownHostsBench(quick ? [1000] : [1000, 10000], RUNS) : null;
  const others =
    [...CASES, ...SIM_CASES].some((c) => !caseFilter || c.name.includes(caseFilter)) ||
    WARM_CASE.includes(caseFilter ?? '');
  if (knownHosts !== null && !others) {
    writeKnownHosts(knownHosts);
    return;
  }
  const loadAtStart = os.loadavg()[0]!;
  const work = fs.mkdtempSync(path.join(workParent, 'herd-bench-'));
  const fileCost = newFileCpuMs(work);
  const rows: Row[] = [];
  const skipped = new Set<string>();
  await fleetCases(work, rows, skipped);
  await simCases(work, rows);
  const table = [
    machineLine(loadAtStart, work, fileCost),
    '',
    formatTable(rows, skipped),
    ...fleetTargets(rows),
    ...(warmResult ? formatWarm(warmResult.rows, warmResult.skipped) : []),
    ...simTargets(rows),
  ].join('\n');
  process.stdout.write('\n' + table + '\n');
  const outDir = path.join(root, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(
    path.join(outDir, 'latest.json'),
    JSON.stringify(
      { when: new Date().toISOString(), cores: os.cpus().length, quick, rows, warm: warmResult?.rows ?? [] },
      null,
      2,
    ),
  );
  fs.writeFileSync(path.join(outDir, 'latest.md'), table + '\n');
  fs.writeFileSync(
    path.join(outDir, 'latest.svg'),
    renderChart(rows.filter((r) => r.tool === 'herd' && r.case.startsWith('scale'))),
  );
  process.stdout.write(`results: ${path.join(outDir, 'latest.md')}, latest.json, latest.svg\n`);
  if (knownHosts !== null) writeKnownHosts(knownHosts);
  fs.rmSync(work, { recursive: true, force: true });
}

/** CPU ms to create and rename one empty file in DIR (what herd's writer does per host and stream for `true`). */
function newFileCpuMs(dir: string): number {
  const probe = fs.mkdtempSync(path.join(dir, 'file-cost-'));
  const n = 500;
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(path.join(probe, `f${i}.tmp`), '');
    fs.renameSync(path.join(probe, `f${i}.tmp`), path.join(probe, `f${i}`));
  }
  const used = process.cpuUsage(before);
  fs.rmSync(probe, { recursive: true, force: true });
  return (used.user + used.system) / 1000 / n;
}

/** Where the numbers come from: a reader compares only like with like. */
function machineLine(loadAtStart: number, work: string, fileCostMs: number): string {
  const ssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  const openssh = (ssh.stderr || ssh.stdout || 'ssh not found').trim().split(',')[0];
  const cpus = os.cpus();
  return (
    `Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
    `Node ${process.version}, ${openssh}, load average ${loadAtStart.toFixed(1)} at the start` +
    `${quick ? ', --quick' : ''}; ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.` +
    ` Work directory (fleets, every tool's output, herd's run directories) under ${path.dirname(work)}: a new file` +
    ` there costs ${fileCostMs.toFixed(3)} ms of CPU.` +
    (extraCaCerts ? ' NODE_EXTRA_CA_CERTS, set on this machine, was unset for every tool (see bench/bench.ts).' : '')
  );
}

function writeKnownHosts(table: string): void {
  const file = path.join(root, 'bench', 'results', 'known-hosts.md');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, table + '\n');
  process.stdout.write(`\n${table}\nresults: ${file}\n`);
}

function printRow(row: Row): void {
  process.stdout.write(
    `${row.case.padEnd(36)} ${row.tool.padEnd(8)} wall ${row.wallS.toFixed(2)}s  cpu ${row.cpuMsPerHost.toFixed(1)} ms/host  peak ${row.peakRssMiB.toFixed(0)} MiB  sshd cpu ${row.sshdCpuS.toFixed(1)}s  handshakes ${row.handshakesPerHost.toFixed(2)}/host${row.failed ? '  (exit != 0)' : ''}${row.stoppedAtS === undefined ? '' : `  (stopped at ${row.stoppedAtS} s)`}\n`,
  );
}

/** The cases on the real sshd fleet; the fleet starts only when one of them is selected. */
async function fleetCases(work: string, rows: Row[], skipped: Set<string>): Promise<void> {
  const selected = CASES.filter((x) => !caseFilter || x.name.includes(caseFilter));
  const warm = !caseFilter || WARM_CASE.includes(caseFilter);
  if (selected.length === 0 && !warm) return;
  // INFO: one "Accepted publickey" line per login, which is how handshakes are counted.
  const fleet = await startFleet({ maxStartups: '10000:30:10000', extraConfig: ['MaxSessions 10'], logLevel: 'INFO' });
  const fleetRef: FleetRef = { pid: fleet.pid, log: path.join(fleet.dir, 'sshd.log') };
  try {
    // The peers get the algorithms herd's ssh2 negotiates, so the rows compare tools, not ciphers.
    negotiated = await negotiate(fleet.hosts(1)[0]!, fleet.port, fleet.user, fleet.keyPath);
    process.stdout.write(`${describeAlgorithms(negotiated)}\n`);
    for (const c of selected) {
      const hosts = fleet.hosts(c.hosts);
      const hostsFile = path.join(work, `hosts-${c.hosts}.txt`);
      fs.writeFileSync(hostsFile, hosts.join('\n') + '\n');
      const ctx: BenchContext = {
        root,
        herdRoot,
        work,
        port: fleet.port,
        user: fleet.user,
        keyPath: fleet.keyPath,
        hostsFile,
        hosts,
        forks: c.forks,
        algorithms: sameAlgorithms(negotiated),
        ...(c.gate ? { maxHandshakes: 64 } : {}),
      };
      const gate = c.gate ? new Gate(work, c.hosts) : undefined;
      const tree = c.transfer ? prepareTree(work, hosts) : null;
      const base: (Tool | TransferTool | PlaybookTool)[] = c.transfer
        ? TRANSFER_TOOLS
        : c.playbook
          ? PLAYBOOK_TOOLS
          : TOOLS;
      const before =
        herdBefore === undefined ? [] : base.filter((t) => t.name === 'herd').map((t) => herdBuild(t, herdBefore));
      const tools: (Tool | TransferTool | PlaybookTool)[] = [...base.slice(0, 1), ...before, ...base.slice(1)];
      const wanted = herdBefore === undefined ? c.tools : [...c.tools, HERD_BEFORE];
      const present = tools.filter(
        (t) =>
          wanted.includes(t.name) &&
          (!only || only.includes(t.name)) &&
          (fs.existsSync(t.binary) || !skipped.add(t.name)),
      );
      const runsOf = new Map<string, FleetRun[]>(present.map((t) => [t.name, []]));
      // Each herd build runs once, untimed, before its first measured run: its bundles' code cache (src/code-cache.ts)
      // is written by its first command in a home, and what an operator pays is every command after that one.
      for (const tool of present.filter((t) => t.name.startsWith('herd') && !primed.has(t.name))) {
        if (c.transfer || c.playbook || gate) continue;
        primed.add(tool.name);
        const m = await runOnFleet(
          fleetRef,
          (tool as Tool).argv(ctx, c.command),
          { ...process.env, ...((tool as Tool).env?.(ctx) ?? {}), HOME: work },
          work,
          { timeoutMs: 600_000, tag: `${process.pid}-${tagSeq++}`, mark: work },
        );
        if (m.exitCode !== 0) process.stdout.write(`  ${tool.name}: its untimed first run exited ${m.exitCode}\n`);
      }
      // Runs are interleaved (herd, peer, herd, peer, ...) so that drift in this machine's speed
      // lands on every tool alike; dirty pages from the last run are flushed before each one.
      for (let r = 0; r < (c.runs ?? RUNS); r++) {
        for (const tool of present) {
          let argv: string[];
          if (c.transfer && tree) {
            const dest = tree.fresh(c.transfer);
            argv = (tool as TransferTool).argv(
              ctx,
              c.transfer,
              c.transfer === 'pull' ? tree.remoteTree : tree.localTree,
              dest,
            );
          } else if (c.playbook) argv = (tool as PlaybookTool).argv(ctx, c.playbook);
          else argv = (tool as Tool).argv(ctx, gate ? gate.command() : c.command);
          gate?.arm();
          const tag = `${process.pid}-${tagSeq++}`;
          const m = await runOnFleet(
            fleetRef,
            argv,
            { ...process.env, ...((tool as Tool).env?.(ctx) ?? {}), HOME: work },
            work,
            {
              timeoutMs: 600_000,
              tag,
              mark: work,
              ...(gate ? { probe: { root: fleet.pid, comm: gate.comm, onCount: (n: number) => gate.onCount(n) } } : {}),
            },
          );
          // Nothing of a one-shot run may outlive it: a straggler would skew the next tool's numbers.
          if (m.background > 0)
            process.stdout.write(`  ${tool.name}: ended ${await endTagged(tag, work)} background processes\n`);
          runsOf.get(tool.name)!.push(m);
          setAside(path.join(work, 'runs'), work);
        }
      }
      for (const tool of present) {
        const runs = runsOf.get(tool.name)!;
        const row: Row = {
          case: c.name,
          tool: tool.name,
          hosts: c.hosts,
          wallS: median(runs.map((m) => m.wallS)),
          cpuMsPerHost: (median(runs.map((m) => m.cpuS)) * 1000) / c.hosts,
          peakRssMiB: median(runs.map((m) => m.peakRssMiB)),
          sshdCpuS: median(runs.map((m) => m.sshdCpuS)),
          handshakesPerHost: median(runs.map((m) => m.logins)) / c.hosts,
          failed: runs.some((m) => m.exitCode !== 0),
          ...(c.gate ? { peakSessions: median(runs.map((m) => m.peakSessions ?? 0)) } : {}),
        };
        rows.push(row);
        printRow(row);
      }
    }
    if (warm) {
      const hosts = fleet.hosts(WARM_HOSTS);
      const hostsFile = path.join(work, `hosts-${WARM_HOSTS}.txt`);
      fs.writeFileSync(hostsFile, hosts.join('\n') + '\n');
      const ctx: BenchContext = {
        root,
        herdRoot,
        work,
        port: fleet.port,
        user: fleet.user,
        keyPath: fleet.keyPath,
        hostsFile,
        hosts,
        forks: WARM_HOSTS,
        algorithms: sameAlgorithms(negotiated),
      };
      const wanted = (name: string): boolean =>
        (!only || only.some((o) => name.startsWith(o))) && (!quick || !name.startsWith('ansible'));
      warmResult = await warmCase(
        fleetRef,
        ctx,
        wanted,
        () => `${process.pid}-${tagSeq++}`,
        (l) => process.stdout.write(l + '\n'),
      );
    }
  } finally {
    await fleet.stop();
  }
}

/**
 * herd alone on the fleet simulator (bench/sim/scale.ts), once per case: these are minutes each at
 * 10k-50k hosts. The sshd CPU and handshakes columns are the simulator's.
 */
async function simCases(work: string, rows: Row[]): Promise<void> {
  const wanted = (only === undefined || only.includes('herd')) && herdBefore === undefined;
  for (const c of (quick ? SIM_QUICK_CASES : SIM_CASES).filter(
    (x) => wanted && (!caseFilter || x.name.includes(caseFilter)),
  )) {
    const m = await runSimCase(c, root, work, maxCaseS);
    const row: Row = {
      case: c.name,
      tool: 'herd',
      hosts: c.hosts,
      wallS: m.wallS,
      // A stopped case is per host it reached (the simulator's logins), not per host it was given.
      cpuMsPerHost: (m.cpuS * 1000) / (m.timedOut ? Math.max(1, m.logins) : c.hosts),
      peakRssMiB: m.peakRssMiB,
      sshdCpuS: m.simCpuS,
      handshakesPerHost: m.logins / c.hosts,
      failed: m.exitCode !== 0 || m.timedOut,
      ...(m.timedOut ? { stoppedAtS: Math.round(m.wallS) } : {}),
      peakSessions: m.peakSessions,
    };
    rows.push(row);
    printRow(row);
    process.stdout.write(
      `  simulator: cpu ${m.simCpuS.toFixed(1)} s, peak ${m.simPeakRssMiB.toFixed(0)} MiB, ` +
        `logins ${m.logins}, peak concurrent sessions ${m.peakSessions}\n`,
    );
  }
}

/** What herd negotiated with the fleet (and the peers were given), once the fleet is up. */
let negotiated: Negotiated | undefined;

function formatTable(rows: Row[], skipped: Set<string>): string {
  const lines = [
    ...(negotiated
      ? [
          `Same crypto for all: ${describeAlgorithms(negotiated)}` +
            (rows.some((r) => r.tool === PEER_DEFAULTS)
              ? `; except the row \`${PEER_DEFAULTS}\`, left to OpenSSH's own defaults (what a pssh user gets out of the box).`
              : '.'),
          '',
        ]
      : []),
    '| case | tool | wall s | herd/peer wall | CPU ms/host | herd/peer CPU | peak MiB (tree) | herd/peer mem | sshd CPU s | handshakes/host |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const herd = rows.find((h) => h.case === r.case && h.tool === 'herd');
    const ratio = (a: number | undefined, b: number): string =>
      a === undefined || r.tool === 'herd' ? '' : (a / b).toFixed(2);
    lines.push(
      `| ${r.case} | ${r.tool}${r.failed ? ' (errors)' : ''}${r.stoppedAtS === undefined ? '' : ` (stopped at ${r.stoppedAtS} s)`} | ${r.wallS.toFixed(2)} | ${ratio(herd?.wallS, r.wallS)} | ${r.cpuMsPerHost.toFixed(1)} | ${ratio(herd?.cpuMsPerHost, r.cpuMsPerHost)} | ${r.peakRssMiB.toFixed(0)} | ${ratio(herd?.peakRssMiB, r.peakRssMiB)} | ${r.sshdCpuS.toFixed(1)} | ${r.handshakesPerHost.toFixed(2)} |`,
    );
  }
  if (skipped.size > 0)
    lines.push('', `skipped (not installed): ${[...skipped].join(', ')} — npm run bench:setup installs them`);
  return lines.join('\n');
}

await main();
