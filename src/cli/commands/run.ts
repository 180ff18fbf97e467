// herd run: one command on every selected host.
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { loadInventory } from '../load-inventory.js';
import { commandLaunch, launchRun } from '../launch.js';
import { resolveConnectionOptions, resolveRunOptions, type RawOptions } from '../options.js';

export async function runCommand(words: string[], raw: RawOptions, _cmd: Command): Promise<number> {
  const command = words.join(' ');
  if (command.trim() === '') throw new UsageError('herd run: give the command to run, e.g. herd run -i hosts.txt uptime');
  const connection = resolveConnectionOptions(raw);
  const run = resolveRunOptions(raw);
  const inventory = loadInventory(raw.inventory ?? [], raw.limit);
  return launchRun({
    commandName: 'run',
    ...commandLaunch({ kind: 'command', command, timeoutMs: Math.round(run.timeoutS * 1000) }),
    targets: inventory.targets,
    inventorySources: raw.inventory ?? [],
    limit: raw.limit ?? null,
    connection,
    run,
    rerunOf: null,
    warnings: inventory.warnings,
    groupOutput: raw.group !== false,
  });
}
