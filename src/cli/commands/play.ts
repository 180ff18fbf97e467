// herd play: run a YAML playbook's steps on its hosts, in order, with guards and gates.
import { UsageError } from '../../errors.js';
import { loadInventory } from '../load-inventory.js';
import { launchRun } from '../launch.js';
import { resolveConnectionOptions, resolveRunOptions, type RawOptions } from '../options.js';
import { parseVars, playbookLaunch, readPlaybook, resolvePlayHosts, type BecomeSource } from '../play-launch.js';

export interface PlayRaw extends RawOptions {
  check?: boolean;
  var?: string[];
  askBecomePass?: boolean;
  becomePassEnv?: string;
}

export function becomeSourceOf(raw: PlayRaw): BecomeSource {
  if (raw.askBecomePass && raw.becomePassEnv) throw new UsageError('--ask-become-pass and --become-pass-env: choose one');
  if (raw.becomePassEnv) return { kind: 'env', variable: raw.becomePassEnv };
  return raw.askBecomePass ? { kind: 'prompt' } : null;
}

export async function playCommand(file: string, raw: PlayRaw): Promise<number> {
  const extraVars = parseVars(raw.var ?? []);
  const connection = resolveConnectionOptions(raw);
  const run = resolveRunOptions(raw);
  const input = readPlaybook(file, extraVars);
  const inventory = loadInventory(raw.inventory ?? [], raw.limit);
  const { playHosts, targets, warnings } = resolvePlayHosts(input.playbook, inventory.targets);
  const launch = await playbookLaunch({ input, playHosts, extraVars, check: raw.check === true, becomeSource: becomeSourceOf(raw) });
  return launchRun({
    commandName: raw.check ? 'play --check' : 'play',
    ...launch,
    targets,
    inventorySources: raw.inventory ?? [],
    limit: raw.limit ?? null,
    connection,
    run,
    rerunOf: null,
    warnings: [...inventory.warnings, ...warnings],
  });
}
