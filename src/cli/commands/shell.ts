// herd shell: connect to the selected hosts once, then run each input line on the current selection over the held
// connections. Every command is an ordinary run (its run directory, its view, its summary); the session
// (engine/session.ts) keeps the pool and the connections between them. Lines come from a terminal (editing,
// history, completion) or from a pipe (run in turn; the exit code is the worst line's).
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { HerdError, UsageError } from '../../errors.js';
import { prepareHosts, Run } from '../../engine/run.js';
import { Session } from '../../engine/session.js';
import type { RunEventListener } from '../../engine/events.js';
import { selectTargets } from '../../inventory/limit.js';
import type { Target } from '../../inventory/types.js';
import { builtinsOnlyProblem } from '../../playbook/index.js';
import { formatFailures, formatRecordedHostKeys } from '../../report/summary.js';
import { writeText } from '../../report/terminal-safe.js';
import type { HostResult } from '../../results/status.js';
import { plural } from '../../results/words.js';
import { EXIT_HOSTS_FAILED, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';
import {
  commandLaunch,
  finishLaunch,
  freshRun,
  inProcessWorkers,
  launchView,
  openRun,
  resolveLaunch,
  type LaunchContext,
  type LaunchRequest,
} from '../launch.js';
import type { RawOptions } from '../options.js';
import { parseNumber } from '../parse-value.js';
import { playbookLaunch, readPlaybook, resolvePlayHosts } from '../play-launch.js';
import { completeLine, formatPrompt, helpText, parseLine, type ShellLine } from '../shell/line.js';
import { historyPath, HISTORY_SIZE, loadHistory, saveHistory } from '../shell/history.js';
import { transferLaunch } from './transfer.js';
import { showCommand } from './show.js';
import { diffCommand } from './diff.js';

type Base = Omit<LaunchRequest, 'commandName' | 'execute' | 'taskRecord'>;

/** What the shell holds between lines. */
interface ShellState {
  base: Base;
  ctx: LaunchContext;
  session: Session;
  /** Every host of the session (the inventory after -l), in inventory order. */
  hosts: Target[];
  selection: Target[];
  label: string;
  /** The --limit pattern the selection came from (recorded in run.json), null for every session host. */
  limit: string | null;
  timeoutS: number;
  stream: boolean;
  last: { dir: string; results: HostResult[] } | undefined;
  /** The worst exit code of the lines so far (piped input exits with it). */
  worst: number;
}

export async function shellCommand(raw: RawOptions): Promise<number> {
  if ((raw.inventory ?? []).includes('-'))
    throw new UsageError('shell: -i - would read the inventory from stdin, where the shell reads its commands');
  const base = freshRun(raw, { shard: false });
  const stderr = process.stderr;
  for (const w of base.warnings) writeText(stderr, `herd: warning: ${w}\n`);
  const probe: LaunchRequest = { ...base, commandName: 'shell', ...commandLaunch(commandTask('true', 0)) };
  const ctx = await resolveLaunch(probe);
  const prepared = prepareHosts(base.targets, ctx.connection, base.connection.hostKeyMode);
  const session = new Session({
    workers: base.run.workers,
    forks: ctx.forks,
    handshakes: base.run.maxHandshakes,
    hosts: base.targets.length,
    config: { ...ctx.config, knownHostsData: prepared.knownHostsData },
    onWarning: (message) => writeText(stderr, `herd: warning: ${message}\n`),
    ...(base.run.workers === 0 ? { channels: await inProcessWorkers() } : {}),
  });
  const state: ShellState = {
    base: { ...base, warnings: [] },
    ctx,
    session,
    hosts: base.targets,
    selection: base.targets,
    label: base.limit ?? 'all',
    limit: base.limit,
    timeoutS: base.run.timeoutS,
    stream: base.run.stream,
    last: undefined,
    worst: EXIT_OK,
  };
  // Ctrl-C while connecting ends the connect pass, not the shell.
  const onConnectInterrupt = (): void => void session.stop();
  process.on('SIGINT', onConnectInterrupt);
  try {
    const connected = await session.connect(prepared.jobs).finally(() => process.off('SIGINT', onConnectInterrupt));
    reportConnect(state, connected.results);
    for (const l of formatRecordedHostKeys(connected.recordedHostKeys)) writeText(stderr, `${l}\n`);
    await readLines(state);
  } finally {
    await session.close();
  }
  return state.worst;
}

function commandTask(command: string, timeoutS: number): { kind: 'command'; command: string; timeoutMs: number } {
  return { kind: 'command', command, timeoutMs: Math.round(timeoutS * 1000) };
}

/** After the connect pass: how many hosts are connected, and why the others are not. */
function reportConnect(state: ShellState, results: HostResult[]): void {
  const ok = results.filter((r) => r.status === 'ok').length;
  const lines = [`herd shell: connected to ${ok} of ${plural(state.hosts.length, 'host')}`];
  for (const l of formatFailures(results, 200, new Map(), 'herd shell :hosts')) lines.push(l);
  writeText(process.stderr, lines.join('\n') + '\n');
}

/**
 * Read lines until Ctrl-D, :quit or the end of the input, one at a time: a line waits for the one before it.
 * Ctrl-C stops a running command on every host, or clears the line typed at the prompt.
 */
async function readLines(state: ShellState): Promise<void> {
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const file = historyPath();
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: tty,
    ...(tty
      ? {
          history: loadHistory(file),
          historySize: HISTORY_SIZE,
          removeHistoryDuplicates: true,
          completer: completeLine,
        }
      : {}),
  });
  if (tty) {
    rl.on('history', (lines: string[]) => {
      try {
        saveHistory(file, lines);
      } catch (err) {
        writeText(process.stderr, `herd: warning: could not save the history in ${file}: ${(err as Error).message}\n`);
      }
    });
  }
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  rl.on('line', (line) => {
    queue.push(line);
    wake?.();
  });
  rl.on('close', () => {
    ended = true;
    wake?.();
  });
  // A terminal's Ctrl-C reaches readline (raw mode); a pipe's reaches the process.
  const onInterrupt = (): void => {
    if (state.session.stop()) return;
    if (!tty) {
      rl.close();
      return;
    }
    // At the prompt: clear what was typed, as a shell does.
    rl.write(null, { ctrl: true, name: 'u' });
    process.stdout.write('^C\n');
    rl.prompt();
  };
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  const prompt = (): void => {
    if (!tty) return;
    rl.setPrompt(promptOf(state));
    rl.prompt();
  };
  try {
    prompt();
    for (;;) {
      if (queue.length === 0) {
        if (ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const parsed = parseLine(queue.shift()!);
      if (parsed.kind === 'quit') break;
      await handleLine(state, parsed);
      prompt();
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    rl.close();
    if (tty) process.stdout.write('\n');
  }
}

function promptOf(state: ShellState): string {
  const connected = state.selection.filter((t) => state.session.connected.has(t.id)).length;
  return formatPrompt(connected, state.selection.length, state.label);
}

/** One line; an error is printed and counted (exit 2), never the end of the session. */
async function handleLine(state: ShellState, line: ShellLine): Promise<void> {
  try {
    const code = await dispatch(state, line);
    state.worst = Math.max(state.worst, code);
  } catch (err) {
    if (!(err instanceof HerdError)) throw err;
    const text = err instanceof UsageError ? err.message : `${err.code}: ${err.message}`;
    writeText(process.stderr, `herd: ${text}\n`);
    state.worst = Math.max(state.worst, err instanceof UsageError ? EXIT_USAGE : EXIT_HOSTS_FAILED);
  }
}

async function dispatch(state: ShellState, line: ShellLine): Promise<number> {
  const out = (text: string): void => writeText(process.stdout, text + '\n');
  switch (line.kind) {
    case 'empty':
    case 'quit':
      return EXIT_OK;
    case 'error':
      throw new UsageError(line.message);
    case 'help':
      out(helpText());
      return EXIT_OK;
    case 'command':
      return runTask(state, commandLaunch(commandTask(line.command, state.timeoutS)));
    case 'limit': {
      const chosen = selectTargets(state.hosts, line.pattern, (f) => fs.readFileSync(f, 'utf8'), {
        label: ':limit',
        unmatchedExclusion: 'error',
      });
      for (const term of chosen.unmatched)
        writeText(process.stderr, `herd: warning: :limit term ${JSON.stringify(term)} matched no host\n`);
      if (chosen.targets.length === 0) throw new UsageError(`:limit ${line.pattern}: no host selected`);
      return select(state, chosen.targets, line.pattern, line.pattern);
    }
    case 'failed': {
      if (!state.last) throw new UsageError(':failed: no command has run yet');
      const failed = new Set(state.last.results.filter((r) => r.status !== 'ok').map((r) => r.id));
      if (failed.size === 0) throw new UsageError(':failed: every host ended ok in the last command');
      const targets = state.hosts.filter((t) => failed.has(t.id));
      return select(state, targets, 'failed', targets.map((t) => t.id).join(','));
    }
    case 'all':
      return select(state, state.hosts, state.base.limit ?? 'all', state.base.limit);
    case 'hosts':
      for (const t of state.selection)
        out(`${t.id}\t${state.session.connected.has(t.id) ? 'connected' : 'not connected'}`);
      return EXIT_OK;
    case 'put': {
      const local = path.resolve(line.local) + (line.local.endsWith('/') ? '/' : '');
      if (!line.local.includes('{{') && !fs.existsSync(local))
        throw new UsageError(`:put: ${line.local}: no such file or directory`);
      checkPath(':put', 'REMOTE', line.remote);
      checkPath(':put', 'LOCAL', line.local);
      return runTask(state, transferLaunch('push', local, line.remote, transferFlags()), 'push');
    }
    case 'get':
      checkPath(':get', 'REMOTE', line.remote);
      checkPath(':get', 'LOCAL_DIR', line.localDir);
      return runTask(state, transferLaunch('pull', path.resolve(line.localDir), line.remote, transferFlags()), 'pull');
    case 'play': {
      const input = readPlaybook(line.file, {});
      const resolved = resolvePlayHosts(input.playbook, state.selection);
      for (const w of resolved.warnings) writeText(process.stderr, `herd: warning: ${w}\n`);
      const launch = await playbookLaunch({
        input,
        targets: resolved.targets,
        playHosts: resolved.playHosts,
        extraVars: {},
        check: line.check,
        becomeSource: null,
      });
      return runTask(state, launch, line.check ? 'play --check' : 'play', resolved.targets);
    }
    case 'show':
      return showCommand(lastDir(state, ':show'), {});
    case 'diff':
      return diffCommand(lastDir(state, ':diff'), {});
    case 'timeout':
      state.timeoutS = parseNumber(':timeout', line.seconds, 0, { min: 0 });
      out(state.timeoutS === 0 ? 'no timeout' : `timeout ${state.timeoutS}s per command`);
      return EXIT_OK;
    case 'stream':
      state.stream = line.on;
      out(`stream ${line.on ? 'on' : 'off'}`);
      return EXIT_OK;
    default: {
      const never: never = line;
      throw new Error(`unhandled line ${JSON.stringify(never)}`);
    }
  }
}

function select(state: ShellState, targets: Target[], label: string, limit: string | null): number {
  state.selection = targets;
  state.label = label;
  state.limit = limit;
  writeText(process.stderr, `herd shell: ${plural(targets.length, 'host')} selected (${label})\n`);
  return EXIT_OK;
}

function lastDir(state: ShellState, builtin: string): string {
  if (!state.last) throw new UsageError(`${builtin}: no command has run yet`);
  return state.last.dir;
}

function checkPath(builtin: string, what: string, value: string): void {
  const problem = builtinsOnlyProblem(value, 'paths');
  if (problem !== null) throw new UsageError(`${builtin} ${what} ${JSON.stringify(value)}: ${problem}`, 'E_TEMPLATE');
}

function transferFlags(): Parameters<typeof transferLaunch>[3] {
  return { times: true, checksum: false, deleteExtra: false, followLinks: false, keepSpecialBits: false };
}

/**
 * One command on the selection, over the session's connections: a run directory, the view and the summary as herd
 * run gives them; the exit code herd run would give.
 */
async function runTask(
  state: ShellState,
  launch: Pick<LaunchRequest, 'execute' | 'taskRecord'>,
  commandName = 'shell',
  targets = state.selection,
): Promise<number> {
  const req: LaunchRequest = {
    ...state.base,
    ...launch,
    commandName: commandName === 'shell' ? 'shell' : `shell ${commandName}`,
    targets,
    limit: state.limit,
    run: { ...state.base.run, stream: state.stream, timeoutS: state.timeoutS },
    groupOutput: launch.taskRecord.kind === 'command',
  };
  const request = openRun(req, state.ctx);
  // No grace in a shell: Ctrl-C stops the command now; the shell says so itself.
  request.graceS = 0;
  const view = launchView(req);
  const listener: RunEventListener = (event) => {
    if (event.kind !== 'stop_requested') view.listener(event);
  };
  const run = new Run(request, listener);
  run.start();
  let failure: unknown;
  try {
    await state.session.execute(run, req.execute);
  } catch (err) {
    failure = err;
  }
  const outcome = await run.finish().finally(() => view.close());
  if (failure !== undefined) throw failure;
  // Said once the live area is gone (it would draw over the note while the command stops).
  if (run.control.interrupted) writeText(process.stderr, 'herd: Ctrl-C: the command was stopped on every host\n');
  state.last = { dir: outcome.dir, results: outcome.results };
  return finishLaunch(req, outcome);
}
