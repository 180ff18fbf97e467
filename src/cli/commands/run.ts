// herd run: one command on every selected host.
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { commandLaunch, freshRun, launchRun } from '../launch.js';
import type { RawOptions } from '../options.js';

export async function runCommand(words: string[], raw: RawOptions, _cmd: Command): Promise<number> {
  const command = words.join(' ');
  if (command.trim() === '') throw new UsageError('run: give the command to run, e.g. herd run -i hosts.txt uptime');
  const base = freshRun(raw);
  return launchRun({
    commandName: 'run',
    ...commandLaunch({ kind: 'command', command, timeoutMs: Math.round(base.run.timeoutS * 1000) }),
    ...base,
    groupOutput: raw.group !== false,
  });
}
