// herd rerun: repeat a run's task on the hosts that did not end ok, recording where it came from.
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { parseInventory } from '../../inventory/index.js';
import { readRun, resolveRunDir, selectRerunHosts, type RunOnDisk } from '../../results/reader.js';
import { planResume } from '../../results/resume.js';
import { playbookLaunch, readPlaybook } from '../play-launch.js';
import { becomeSourceOf } from './play.js';
import { transferLaunch } from './transfer.js';
import type { RunOptionsRecord } from '../../results/run-record.js';
import { commandLaunch, launchRun } from '../launch.js';
import { resolveConnectionOptions, resolveRunOptions, type RawOptions } from '../options.js';
import { inapplicableToKind, overlayGiven, restoreOptions } from '../option-table.js';
import { DEFAULT_OUT_DIR } from '../../defaults.js';
import { fillFromFiles } from '../config-file.js';
import { playsByHost, selectShard } from '../shard-select.js';

/** Every rerun flag is a row of option-table.ts. */
export type RerunRaw = RawOptions;

/** Given on this command line (or its environment), not a default. */
const givenOn =
  (cmd: Command) =>
  (name: string): boolean =>
    cmd.getOptionValueSource(name) === 'cli' || cmd.getOptionValueSource(name) === 'env';

/**
 * A flag given for a kind of run that does not honour it (option-table.ts rerunKinds) is refused, never silently
 * ignored.
 */
function refuseInapplicable(earlier: RunOnDisk, cmd: Command): void {
  const refusal = inapplicableToKind(
    earlier.record.task.kind,
    earlier.record.id,
    (name) => cmd.getOptionValueSource(name) === 'cli',
  );
  if (refusal !== null) throw new UsageError(refusal);
}

/**
 * Options of the earlier run (restored from run.json by option-table.ts), overlaid by whatever was given on this
 * command line.
 */
function mergeOptions(recorded: RunOptionsRecord, raw: RerunRaw, cmd: Command): RawOptions {
  const merged = overlayGiven(restoreOptions(recorded), raw, givenOn(cmd));
  // herd.yml's defaults fill only what neither the earlier run nor this command line (or HERD_*) says.
  const fromFiles = new Map(Object.entries(raw).filter(([key]) => cmd.getOptionValueSource(key) === 'config'));
  return fillFromFiles(merged, fromFiles) as RawOptions;
}

export async function rerunCommand(which: string | undefined, raw: RerunRaw, cmd: Command): Promise<number> {
  const outDir = raw.out ?? DEFAULT_OUT_DIR;
  const dir = resolveRunDir(outDir, which);
  const earlier = readRun(dir);
  refuseInapplicable(earlier, cmd);
  if (earlier.record.task.kind === 'playbook') return rerunPlaybook(earlier, raw, cmd);
  const recordedTask = earlier.record.task;
  const ids = selectRerunHosts(earlier, raw.includeInterrupted === true);
  const skippedInterrupted = earlier.hosts.filter(
    (h) => h.result?.status === 'interrupted' || (h.result === null && h.wasRunning),
  ).length;
  if (ids.length === 0) {
    const note =
      skippedInterrupted > 0 && !raw.includeInterrupted
        ? ` (${skippedInterrupted} interrupted; add --include-interrupted to run them again)`
        : '';
    process.stderr.write(`herd: nothing to rerun in ${dir}: every host ended ok${note}\n`);
    return 0;
  }
  if (skippedInterrupted > 0 && !raw.includeInterrupted) {
    process.stderr.write(
      `herd: ${skippedInterrupted} interrupted host(s) left out: their command may have run; add --include-interrupted to run them again\n`,
    );
  }
  // Ids are canonical inventory lines, so the inventory parser rebuilds each target exactly.
  const parsed = parseInventory([{ name: `${dir}/hosts.tsv`, text: ids.join('\n') + '\n' }]);
  // --shard splits the hosts to rerun afresh (a merged run rerun on several controllers); never restored.
  const sharded = selectShard(raw, parsed.targets);
  const merged = mergeOptions(earlier.record.options, raw, cmd);
  const connection = resolveConnectionOptions(merged);
  const run = resolveRunOptions({ ...merged, out: raw.out ?? path.dirname(dir) });
  const launch =
    recordedTask.kind === 'transfer'
      ? transferLaunch(recordedTask.direction, recordedTask.local, recordedTask.remote, {
          times: recordedTask.times,
          checksum: recordedTask.checksum === true,
          deleteExtra: recordedTask.delete === true,
          followLinks: recordedTask.follow_links === true,
          keepSpecialBits: recordedTask.keep_special_bits === true,
        })
      : commandLaunch({
          kind: 'command',
          command: recordedTask.command,
          timeoutMs: Math.round(
            (cmd.getOptionValueSource('timeout') === 'cli' ? run.timeoutS : recordedTask.timeout_s) * 1000,
          ),
        });
  return launchRun({
    commandName: 'rerun',
    ...launch,
    targets: sharded.targets,
    shard: sharded.plan,
    inventorySources: [`${dir}`],
    limit: null,
    connection,
    run,
    rerunOf: earlier.record.id,
    warnings: [],
    groupOutput: raw.group !== false,
  });
}

/** A playbook run resumes each non-ok host at the step where it stopped. */
async function rerunPlaybook(earlier: RunOnDisk, raw: RerunRaw, cmd: Command): Promise<number> {
  const task = earlier.record.task;
  if (task.kind !== 'playbook') throw new UsageError('not a playbook run');
  const input = readPlaybook(task.file, task.vars);
  const playHosts = earlier.playHosts;
  if (playHosts === null)
    throw new UsageError(`${earlier.dir}: plays.json is missing, cannot tell which hosts each play had`);
  if (input.sha256 !== task.sha256) {
    const sameShape = input.playbook.plays.every((p) => playHosts.get(p.index) !== undefined);
    if (!sameShape && !raw.fromStart)
      throw new UsageError(`${task.file} changed its plays since run ${earlier.record.id}; use --from-start`);
    process.stderr.write(
      `herd: warning: ${task.file} changed since run ${earlier.record.id}; steps are matched by number\n`,
    );
  }
  const plan = planResume(
    input.playbook,
    playHosts,
    earlier.hosts.map((h) => ({ id: h.id, final: h.result, wasRunning: h.wasRunning, steps: h.steps })),
    {
      fromStart: raw.fromStart === true,
      resumeUnguarded: raw.resumeUnguarded === true,
      includeDiverged: raw.includeDiverged === true,
      earlierRun: earlier.record.id,
    },
  );
  for (const h of plan.held) process.stderr.write(`herd: not resuming ${h.id}: ${h.reason}\n`);
  if (plan.hosts.length === 0) {
    process.stderr.write(`herd: nothing to rerun in ${earlier.dir}\n`);
    return 0;
  }
  const parsed = parseInventory([{ name: `${earlier.dir}/hosts.tsv`, text: plan.hosts.join('\n') + '\n' }]);
  const planned = new Set(plan.hosts);
  const rerunAll = new Map([...playHosts].map(([index, ids]) => [index, ids.filter((id) => planned.has(id))]));
  const sharded = selectShard(raw, parsed.targets, process.env, playsByHost(rerunAll));
  const keep = new Set(sharded.targets.map((t) => t.id));
  const rerunPlayHosts = new Map([...rerunAll].map(([index, ids]) => [index, ids.filter((id) => keep.has(id))]));
  const merged = mergeOptions(earlier.record.options, raw, cmd);
  const connection = resolveConnectionOptions(merged);
  const run = resolveRunOptions({ ...merged, out: raw.out ?? path.dirname(earlier.dir) });
  const recordedBecome = task.become_password_source;
  const becomeSource =
    raw.askBecomePass || raw.becomePassEnv
      ? becomeSourceOf(raw)
      : recordedBecome?.startsWith('env:')
        ? { kind: 'env' as const, variable: recordedBecome.slice(4) }
        : recordedBecome === 'prompt'
          ? { kind: 'prompt' as const }
          : null;
  const launch = await playbookLaunch({
    input,
    playHosts: rerunPlayHosts,
    extraVars: task.vars,
    check: task.check,
    becomeSource,
    resume: raw.fromStart ? undefined : plan.resume,
    gateReferences: earlier.gates,
  });
  return launchRun({
    commandName: 'rerun',
    ...launch,
    targets: sharded.targets,
    shard: sharded.plan,
    inventorySources: [earlier.dir],
    limit: null,
    connection,
    run,
    rerunOf: earlier.record.id,
    warnings: [],
  });
}
