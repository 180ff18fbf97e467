// Shared by run and rerun: resolve secrets, write the audit record, execute, print the summary, pick the exit code.
import os from 'node:os';
import type { Target } from '../inventory/types.js';
import { executeRun } from '../engine/run.js';
import type { TaskSpec } from '../engine/protocol.js';
import { newRunId } from '../results/run-id.js';
import type { RunRecord } from '../results/run-record.js';
import { formatCounts, formatFailures } from '../report/summary.js';
import type { ConnectionOptions, RunOptions } from './options.js';
import { localUser } from './options.js';
import { passwordFromEnv, promptHidden } from './secrets.js';
import { herdVersion } from './version.js';
import { EXIT_HOSTS_FAILED, EXIT_INTERRUPTED, EXIT_OK } from './exit-codes.js';

export interface LaunchRequest {
  commandName: string;
  task: TaskSpec;
  targets: Target[];
  inventorySources: string[];
  limit: string | null;
  connection: ConnectionOptions;
  run: RunOptions;
  rerunOf: string | null;
  warnings: string[];
}

async function resolvePassword(source: ConnectionOptions['passwordSource']): Promise<string | undefined> {
  if (source === null) return undefined;
  if (source.kind === 'env') return passwordFromEnv(source.variable);
  return promptHidden('SSH password: ');
}

function describePasswordSource(source: ConnectionOptions['passwordSource']): string | null {
  if (source === null) return null;
  return source.kind === 'env' ? `env:${source.variable}` : 'prompt';
}

/** Returns the process exit code. */
export async function launchRun(req: LaunchRequest): Promise<number> {
  const stderr = process.stderr;
  for (const w of req.warnings) stderr.write(`herd: warning: ${w}\n`);
  const password = await resolvePassword(req.connection.passwordSource);
  const agentSocket = process.env['SSH_AUTH_SOCK'] || undefined;
  const defaultUser = req.connection.user ?? localUser();
  const record: RunRecord = {
    id: newRunId(),
    herd_version: herdVersion(),
    command: req.commandName,
    task: { kind: 'command', command: req.task.command, timeout_s: req.task.timeoutMs / 1000 },
    user: localUser(),
    controller: os.hostname(),
    cwd: process.cwd(),
    argv: process.argv.slice(2),
    inventory_sources: req.inventorySources,
    limit: req.limit,
    options: {
      user: req.connection.user,
      port: req.connection.port,
      keys: req.connection.keysExplicit ? req.connection.keys : [],
      keys_explicit: req.connection.keysExplicit,
      password_source: describePasswordSource(req.connection.passwordSource),
      agent: agentSocket !== undefined,
      forks: req.run.forks,
      workers: req.run.workers,
      connect_timeout_s: req.connection.connectTimeoutS,
      known_hosts: req.connection.knownHostsPath,
      host_key_mode: req.connection.hostKeyMode,
    },
    rerun_of: req.rerunOf,
    state: 'running',
    started_at: new Date().toISOString(),
    ended_at: null,
    hosts_total: req.targets.length,
    counts: {},
  };
  const outcome = await executeRun(
    {
      targets: req.targets,
      defaultUser,
      defaultPort: req.connection.port ?? 22,
      outDir: req.run.outDir,
      record,
      workers: req.run.workers,
      forks: req.run.forks,
      graceS: req.run.graceS,
      config: {
        connectTimeoutMs: Math.round(req.connection.connectTimeoutS * 1000),
        hostKeyMode: req.connection.hostKeyMode,
        knownHostsPath: req.connection.knownHostsPath,
        keyPaths: req.connection.keys,
        keysExplicit: req.connection.keysExplicit,
        password,
        agentSocket,
        task: req.task,
      },
    },
    { stderr, progress: req.run.progress && !req.run.quiet },
  );
  const total = outcome.results.length;
  const lines = [formatCounts(total, outcome.record.counts)];
  if (!req.run.quiet) lines.push(...formatFailures(outcome.results));
  lines.push(`results: ${outcome.dir}`);
  stderr.write(lines.join('\n') + '\n');
  if (outcome.interrupted) return EXIT_INTERRUPTED;
  return outcome.results.every((r) => r.status === 'ok') ? EXIT_OK : EXIT_HOSTS_FAILED;
}
