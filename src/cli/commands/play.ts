// herd play: run a YAML playbook's steps on its hosts, in order, with guards and gates.
import { UsageError } from '../../errors.js';
import { freshRun, launchRun } from '../launch.js';
import type { RawOptions } from '../options.js';
import { playsByHost, selectShard } from '../shard-select.js';
import { parseVars, playbookLaunch, readPlaybook, resolvePlayHosts, type BecomeSource } from '../play-launch.js';

/** Every play flag is a row of option-table.ts. */
export type PlayRaw = RawOptions;

export function becomeSourceOf(raw: PlayRaw): BecomeSource {
  if (raw.askBecomePass && raw.becomePassEnv)
    throw new UsageError('--ask-become-pass and --become-pass-env: choose one');
  if (raw.becomePassEnv) return { kind: 'env', variable: raw.becomePassEnv };
  return raw.askBecomePass ? { kind: 'prompt' } : null;
}

export async function playCommand(file: string, raw: PlayRaw): Promise<number> {
  const extraVars = parseVars(raw.var ?? []);
  const input = readPlaybook(file, extraVars);
  const base = freshRun(raw, { shard: false });
  const resolved = resolvePlayHosts(input.playbook, base.targets);
  // Sharded after the plays' hosts patterns: shard.tsv then lists exactly the hosts the logical run runs.
  const { targets, plan } = selectShard(raw, resolved.targets, process.env, playsByHost(resolved.playHosts));
  const mine = new Set(targets.map((t) => t.id));
  const playHosts = new Map([...resolved.playHosts].map(([index, ids]) => [index, ids.filter((id) => mine.has(id))]));
  const warnings = resolved.warnings;
  const launch = await playbookLaunch({
    input,
    playHosts,
    extraVars,
    check: raw.check === true,
    becomeSource: becomeSourceOf(raw),
  });
  return launchRun({
    commandName: raw.check ? 'play --check' : 'play',
    ...launch,
    ...base,
    shard: plan,
    targets,
    warnings: [...base.warnings, ...warnings],
  });
}
