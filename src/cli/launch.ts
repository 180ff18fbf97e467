// Shared by run and rerun: resolve secrets, write the audit record, execute, print the summary, pick the exit code.
import os from 'node:os';
import type { Target } from '../inventory/types.js';
import { executeSinglePass, prepareHosts, Run, type RunOutcome, type RunRequest } from '../engine/run.js';
import type { WorkerChannelSource } from '../engine/worker-channel.js';
import { notePath } from '../code-cache.js';
import type { ConnectionDefaults } from '../engine/connection-plan.js';
import type { RunEventListener } from '../engine/events.js';
import type { TaskSpec } from '../engine/protocol.js';
import { createRunDir } from '../results/run-id.js';
import type { RunRecord, RunTaskRecord } from '../results/run-record.js';
import { formatCounts, formatFailures, formatJumpHosts, formatRecordedHostKeys } from '../report/summary.js';
import { formatGroups, groupOutputs } from '../report/groups.js';
import { failureExcerpts } from '../report/failure-excerpts.js';
import { NdjsonSink } from '../report/ndjson.js';
import { printRecap, printStepBlock } from './recap-output.js';
import { createRunView, recordEventsTo, type RunView } from './render-run.js';
import { wireStops } from './stop-wiring.js';
import { LineStreamer, wantColour } from '../report/stream.js';
import { writeText } from '../report/terminal-safe.js';
import {
  resolveConnectionOptions,
  resolveRunOptions,
  type ConnectionOptions,
  type RawOptions,
  type RunOptions,
  type SecretSource,
} from './options.js';
import { loadInventory } from './load-inventory.js';
import { loadSshConfig, namesIdentityFile } from '../transport/ssh-config.js';
import { requireCredentials } from './credentials.js';
import { UsageError } from '../errors.js';
import { localUser } from './options.js';
import { optionsRecord, workerConfig } from './option-table.js';
import { configFilesRead } from './config-load.js';
import { passwordFromEnv, promptHidden, type PromptFlags } from './secrets.js';
import { herdVersion } from './version.js';
import { fitForks, limitFor, openFileLimit } from '../engine/fd-budget.js';
import { defaultWorkers, FDS_PER_COMMAND_SESSION, FDS_PER_TRANSFER_SESSION } from '../defaults.js';
import { EXIT_HOSTS_FAILED, EXIT_INTERRUPTED, EXIT_OK } from './exit-codes.js';
import { plural } from '../results/words.js';
import { selectShard, SHARD_TSV_HEADER, SHARD_TSV_PLAYS_HEADER, type ShardPlan } from './shard-select.js';
import { writeFileAtomic } from '../results/atomic.js';
import { formatTsv } from '../results/tsv.js';
import path from 'node:path';
import { isSea } from 'node:sea';
import { attachKeeper, reachKeeper, type KeeperReach } from '../keeper/client.js';
import { envDigest, keeperIdentity } from '../keeper/key.js';
import { readKnownHostsFiles } from '../transport/known-hosts-file.js';

function writeShardTsv(dir: string, plan: ShardPlan): void {
  const withPlays = plan.all.some((h) => h.plays !== undefined);
  const rows = plan.all.map((h) => (withPlays ? [h.id, h.shard, (h.plays ?? []).join(',') || '-'] : [h.id, h.shard]));
  writeFileAtomic(path.join(dir, 'shard.tsv'), formatTsv(withPlays ? SHARD_TSV_PLAYS_HEADER : SHARD_TSV_HEADER, rows));
}

export interface LaunchRequest {
  commandName: string;
  targets: Target[];
  inventorySources: string[];
  limit: string | null;
  connection: ConnectionOptions;
  run: RunOptions;
  rerunOf: string | null;
  warnings: string[];
  /** Show hosts grouped by identical output at the end (ad-hoc commands). */
  groupOutput?: boolean;
  /** What the run does: its passes over the hosts (launchRun opens and finishes the run around it). */
  execute: (run: Run) => Promise<void>;
  /** How run.json describes the task. */
  taskRecord: RunTaskRecord;
  /** One shard of a logical run (--shard): recorded in run.json, and shard.tsv written. */
  shard?: ShardPlan | null;
}

async function resolveSecret(source: SecretSource, flags: PromptFlags, question: string): Promise<string | undefined> {
  if (source === null) return undefined;
  if (source.kind === 'env') return passwordFromEnv(source.variable, flags.env);
  return promptHidden(question, flags);
}

/**
 * Keys named with -k are parsed here first: an encrypted key without its passphrase, or with a
 * wrong one, stops the run before any host is touched instead of failing every host's login.
 */
async function checkExplicitKeys(connection: ConnectionOptions, passphrase: string | undefined): Promise<void> {
  if (!connection.keysExplicit) return;
  // Only here does the parent parse keys: without -k it never loads ssh2, which only the workers need.
  const { loadPrivateKeys } = await import('../transport/keys.js');
  const { problems } = loadPrivateKeys(connection.keys, true, passphrase);
  if (problems.length > 0) throw new UsageError(problems.join('\n'), 'E_KEY');
}

/**
 * What a new run (not a rerun) takes straight from its flags: connection and run settings, and the selected hosts
 * (this shard's with --shard; `shard: false` leaves sharding to the caller, which selects further first).
 */
export function freshRun(
  raw: RawOptions,
  { shard = true } = {},
): Pick<
  LaunchRequest,
  'targets' | 'inventorySources' | 'limit' | 'connection' | 'run' | 'rerunOf' | 'warnings' | 'shard'
> {
  const connection = resolveConnectionOptions(raw);
  const run = resolveRunOptions(raw);
  const inventory = loadInventory(raw.inventory ?? [], raw.limit, undefined, raw.inventoryFormat);
  const sharded = shard ? selectShard(raw, inventory.targets) : { targets: inventory.targets, plan: null };
  return {
    shard: sharded.plan,
    targets: sharded.targets,
    inventorySources: raw.inventory ?? [],
    limit: raw.limit ?? null,
    connection,
    run,
    rerunOf: null,
    warnings: inventory.warnings,
  };
}

/** --forks clamped to what `ulimit -n` allows, with a warning, so no host fails with EMFILE halfway. */
function preflightForks(req: LaunchRequest): number {
  const limit = openFileLimit();
  if (limit === null) return req.run.forks;
  const perSession = req.taskRecord.kind === 'command' ? FDS_PER_COMMAND_SESSION : FDS_PER_TRANSFER_SESSION;
  // --workers 0: herd's own process holds every session.
  const processes = Math.max(1, req.run.workers);
  const fitted = fitForks(req.run.forks, processes, perSession, limit);
  const wanted = Math.min(req.run.forks, req.targets.length);
  if (fitted < wanted) {
    const needed = limitFor(wanted, processes, perSession);
    process.stderr.write(
      `herd: warning: --forks ${req.run.forks} does not fit ulimit -n ${limit} (${perSession} descriptors per session, ` +
        `${req.run.workers === 0 ? "herd's own process" : plural(processes, 'worker')}); using --forks ${fitted}. For ${wanted} sessions at once: ulimit -n ${needed}\n`,
    );
  }
  return fitted;
}

/** The launch of an ad-hoc command run. */
export function commandLaunch(
  task: Extract<TaskSpec, { kind: 'command' }>,
): Pick<LaunchRequest, 'execute' | 'taskRecord'> {
  return {
    taskRecord: { kind: 'command', command: task.command, timeout_s: task.timeoutMs / 1000 },
    execute: (run) => executeSinglePass(run, task),
  };
}

/** What a launch resolves once, before any run directory: --forks fitted, secrets, keys, ssh_config, credentials. */
export interface LaunchContext {
  forks: number;
  agentSocket: string | undefined;
  sshConfigPath: string | null;
  connection: ConnectionDefaults;
  config: RunRequest['config'];
}

/**
 * Secrets asked or read, keys checked, ssh_config read, credentials required: all before any host (exit 2).
 * `credentialsKnown` runs once the worker config is known and before the rest (launchRun reaches its keeper then).
 */
export async function resolveLaunch(
  req: LaunchRequest,
  credentialsKnown?: (config: RunRequest['config']) => void,
): Promise<LaunchContext> {
  const forks = preflightForks(req);
  const password = await resolveSecret(
    req.connection.passwordSource,
    { ask: '--ask-pass', env: '--password-env' },
    'SSH password: ',
  );
  const keyPassphrase = await resolveSecret(
    req.connection.keyPassphraseSource,
    { ask: '--ask-key-passphrase', env: '--key-passphrase-env' },
    'Key passphrase: ',
  );
  const agentSocket = process.env['SSH_AUTH_SOCK'] || undefined;
  const config = workerConfig(req, { password, keyPassphrase, agentSocket });
  credentialsKnown?.(config);
  await checkExplicitKeys(req.connection, keyPassphrase);
  // HERD_SSH_SYSTEM_CONFIG replaces /etc/ssh/ssh_config (`none`: read none), for hermetic runs and tests.
  const sshConfig = loadSshConfig(req.connection.sshConfigFile, {
    systemPath: process.env['HERD_SSH_SYSTEM_CONFIG'] || undefined,
  });
  requireCredentials({
    keyPaths: req.connection.keys,
    keysExplicit: req.connection.keysExplicit,
    agentSocket,
    password: password !== undefined,
    // A key from the inventory (ansible_ssh_private_key_file) is a credential too.
    sshConfigIdentity: namesIdentityFile(sshConfig) || req.targets.some((t) => t.identityFile !== undefined),
  });
  const connection: ConnectionDefaults = {
    cliUser: req.connection.user,
    cliPort: req.connection.port,
    cliKeys: req.connection.keysExplicit ? req.connection.keys : null,
    cliConnectTimeoutS: req.connection.explicit.connectTimeout ? req.connection.connectTimeoutS : null,
    cliConnectRetries: req.connection.explicit.connectRetries ? req.connection.connectRetries : null,
    cliHostKeyMode: req.connection.explicit.hostKeyMode ? req.connection.hostKeyMode : null,
    cliKnownHostsPath: req.connection.explicit.knownHosts ? req.connection.knownHostsPath : null,
    cliJump: req.connection.jump,
    localUser: localUser(),
    home: os.homedir(),
    sshConfig,
  };
  return {
    forks,
    agentSocket,
    // Only an -F file is recorded: with none, a rerun reads ~/.ssh/config and the system file again,
    // as ssh would (recording one of them would make the rerun read it as -F, without the other).
    sshConfigPath: req.connection.sshConfigFile === undefined ? null : (sshConfig?.path ?? null),
    connection,
    config,
  };
}

/** The run directory and run.json of one run of `req`'s targets: every trust file read first (exit 2 if one fails). */
export function openRun(
  req: LaunchRequest,
  ctx: LaunchContext,
  // Every known_hosts file is read before the run directory exists: one unreadable refuses the run.
  prepared: RunRequest['prepared'] = prepareHosts(req.targets, ctx.connection, req.connection.hostKeyMode),
  keeper: KeeperSession = null,
): RunRequest {
  const { forks, agentSocket, connection } = ctx;
  // Last, once every check passed: the id is drawn where its directory is created (exclusively).
  const { id, dir } = createRunDir(req.run.outDir);
  if (req.shard) writeShardTsv(dir, req.shard);
  const record: RunRecord = {
    id,
    herd_version: herdVersion(),
    command: req.commandName,
    task: req.taskRecord,
    user: localUser(),
    controller: os.hostname(),
    cwd: process.cwd(),
    argv: process.argv.slice(2),
    inventory_sources: req.inventorySources,
    limit: req.limit,
    options: optionsRecord(req, { forks, agent: agentSocket !== undefined, sshConfigPath: ctx.sshConfigPath }),
    rerun_of: req.rerunOf,
    config_files: configFilesRead(),
    state: 'running',
    started_at: new Date().toISOString(),
    ended_at: null,
    hosts_total: req.targets.length,
    counts: {},
    ...(req.shard ? { shard: req.shard.record } : {}),
  };
  return {
    targets: req.targets,
    ...(req.shard ? { recordedTargets: req.shard.selected } : {}),
    connection,
    prepared,
    outDir: req.run.outDir,
    record,
    workers: req.run.workers,
    forks,
    handshakes: req.run.maxHandshakes,
    graceS: req.run.graceS,
    deadlineS: req.run.deadlineS,
    config: ctx.config,
    ...(keeper ? { channels: keeper } : {}),
  };
}

/** The run's terminal view, --json and --stream, as the options ask. */
export function launchView(req: LaunchRequest): RunView {
  const stderr = process.stderr;
  return createRunView({
    stderr,
    progress: req.run.progress && !req.run.quiet,
    ...(req.run.json ? { json: new NdjsonSink(process.stdout) } : {}),
    // With --json, stdout carries only events, so streamed lines go to stderr.
    ...(req.run.stream
      ? {
          stream: new LineStreamer(
            req.run.json ? stderr : process.stdout,
            wantColour(req.run.json ? stderr : process.stdout, !req.run.colour),
          ),
        }
      : {}),
    // Playbooks: each step's counts as it completes across a batch, on stderr with the live area.
    ...(req.taskRecord.kind === 'playbook' && !req.run.quiet
      ? { stepBlock: (results, dir) => printStepBlock(stderr, dir, results) }
      : {}),
  });
}

/** Returns the process exit code. */
export async function launchRun(asked: LaunchRequest): Promise<number> {
  const stderr = process.stderr;
  // Without --workers, a small run forks fewer workers (none below HOSTS_PER_WORKER hosts); run.json records it.
  const workers = asked.run.workersExplicit
    ? asked.run.workers
    : defaultWorkers(asked.targets.length, asked.taskRecord.kind === 'transfer');
  let req: LaunchRequest = { ...asked, run: { ...asked.run, workers } };
  for (const w of req.warnings) writeText(stderr, `herd: warning: ${w}\n`);
  if (req.shard && req.targets.length === 0) {
    // Nothing of the logical run is lost: herd merge knows from the other shards' shard.tsv that this one owned none.
    const { index, count, selected_hosts: selected } = req.shard.record;
    stderr.write(
      `herd: shard ${index}/${count} owns none of the ${plural(selected, 'selected host')}: nothing to run\n`,
    );
    return EXIT_OK;
  }
  const way: { reach: KeeperReach | null } = { reach: null };
  let ctx: LaunchContext;
  let prepared: RunRequest['prepared'];
  try {
    ctx = await resolveLaunch(req, (config) => (way.reach = keeperReach(req, config)));
    prepared = prepareHosts(req.targets, ctx.connection, req.connection.hostKeyMode);
  } catch (err) {
    way.reach?.early?.destroy();
    throw err;
  }
  const { sshConfig } = ctx.connection;
  const keeper = await keeperFor(req, way.reach, prepared, sshConfig);
  // A keeper's connections live in its worker processes: a small run uses one of them, not herd's own process.
  if (keeper && req.run.workers === 0) req = { ...req, run: { ...req.run, workers: 1 } };
  const request: RunRequest = {
    ...openRun(req, ctx, prepared, keeper),
    ...(req.run.workers === 0 ? { inProcess: await inProcessWorkers() } : {}),
  };
  const view = launchView(req);
  const eventsFile = process.env['HERD_TEST_EVENTS_FILE'];
  const recorder = eventsFile ? recordEventsTo(eventsFile) : undefined;
  const listener: RunEventListener = recorder ? (e) => (recorder(e), view.listener(e)) : view.listener;
  const outcome = executeRun(request, listener, req.execute)
    .finally(() => view.close())
    // The keeper is told the trust files as they are now: accept-new may have recorded keys it verified.
    .finally(() => keeper?.detach(envDigest(readKnownHostsFiles(prepared.knownHostsFiles), sshConfig)));
  return finishLaunch(req, await outcome);
}

type KeeperSession = Awaited<ReturnType<typeof attachKeeper>>['session'];

/**
 * The worker in herd's own process (--workers 0), loaded only when a run has it: with it come ssh2 and the worker's
 * code, which a run with worker processes, and every other command, never loads here.
 */
export async function inProcessWorkers(): Promise<WorkerChannelSource> {
  // Its code was compiled here: the CLI's code cache must hold it (one written by a run with workers does not).
  notePath('in-process');
  return (await import('../engine/in-process-worker.js')).inProcessWorkers;
}

/**
 * The way to the connection keeper this run's workers would live in, as soon as the credentials are known: its
 * socket is connected then, so that the keeper's check of who connected runs while this command checks its keys and
 * plans its hosts. None in the single executable and with --workers 0 (a UsageError with --persist).
 */
function keeperReach(req: LaunchRequest, config: RunRequest['config']): KeeperReach | null {
  if (isSea()) {
    if (req.run.persistMs !== null) throw new UsageError('--persist: not available in the single executable yet');
    return null;
  }
  if (req.run.workers === 0 && req.run.workersExplicit) {
    if (req.run.persistMs !== null)
      throw new UsageError("--persist keeps connections in worker processes: --workers 0 runs in herd's own process");
    return null;
  }
  return reachKeeper({ identity: () => keeperIdentity(config), persistMs: req.run.persistMs });
}

/**
 * The connection keeper this run's workers live in: one left by an earlier command with the same key, or a new one
 * with --persist. None when there is neither (the pool forks its own workers).
 */
async function keeperFor(
  req: LaunchRequest,
  reach: KeeperReach | null,
  prepared: RunRequest['prepared'],
  sshConfig: unknown,
): Promise<KeeperSession> {
  if (reach === null) return null;
  const { session, notes } = await attachKeeper(reach, {
    env: () => envDigest(prepared.knownHostsData, sshConfig),
    hosts: prepared.jobs.map((j) => j.id),
    persistMs: req.run.persistMs,
  });
  for (const note of notes) writeText(process.stderr, `herd: note: ${note}\n`);
  return session;
}

/**
 * Open the run, wire Ctrl-C and --deadline to it, execute; the run directory is completed even when execution failed.
 */
export async function executeRun(
  request: RunRequest,
  listener: RunEventListener,
  execute: LaunchRequest['execute'],
): Promise<RunOutcome> {
  const run = new Run(request, listener);
  const unwire = wireStops(run.control);
  run.start();
  let failure: unknown;
  try {
    await execute(run);
  } catch (err) {
    failure = err;
  }
  // Still wired while the run closes (workers leave, kept connections close): a Ctrl-C then must not
  // kill herd before the run directory is complete.
  let outcome: RunOutcome;
  try {
    outcome = await run.finish();
  } finally {
    unwire();
  }
  if (failure !== undefined) throw failure;
  return outcome;
}

/** What is printed after the run, and the exit code. */
export function finishLaunch(req: LaunchRequest, outcome: RunOutcome): number {
  if (req.groupOutput && !req.run.quiet && !req.run.json && !req.run.stream) printGroups(outcome);
  if (req.taskRecord.kind === 'playbook' && !req.run.quiet) printRecap(process.stderr, outcome.dir, 'recap:');
  return reportOutcome(outcome, req.run.quiet);
}

/** Hosts with the same stdout and exit code shown once, largest group first, on stdout. */
function printGroups(outcome: RunOutcome): void {
  const entries = outcome.results
    .filter((r) => outcome.outputs.has(r.id) && (r.status === 'ok' || r.status === 'failed'))
    .map((r) => ({ id: r.id, exitCode: r.exitCode, summary: outcome.outputs.get(r.id)! }));
  if (entries.length > 0) writeText(process.stdout, formatGroups(groupOutputs(entries)) + '\n');
}

/** Print the end-of-run summary on stderr and pick the exit code. */
export function reportOutcome(outcome: RunOutcome, quiet: boolean): number {
  const stderr = process.stderr;
  const total = outcome.results.length;
  const lines = [formatCounts(total, outcome.record.counts)];
  // The reason is on the screen, not only in stderr/<host>: each failed host's stderr head, grouped
  // (a loop, not push(...): one line per distinct failure can be one per host).
  if (!quiet)
    for (const l of formatFailures(outcome.results, undefined, failureExcerpts(outcome.dir, outcome.results)))
      lines.push(l);
  for (const l of formatJumpHosts(outcome.record.jump_hosts ?? [])) lines.push(l);
  for (const l of formatRecordedHostKeys(outcome.recordedHostKeys)) lines.push(l);
  lines.push(`results: ${outcome.dir}`);
  writeText(stderr, lines.join('\n') + '\n');
  if (outcome.interrupted) return EXIT_INTERRUPTED;
  return outcome.results.every((r) => r.status === 'ok') ? EXIT_OK : EXIT_HOSTS_FAILED;
}
