// The herd program: commander wiring, and the one place that turns errors into messages and exit codes.
// Command modules are imported lazily so `herd --version` and `--help` stay fast.
import { Command, CommanderError } from 'commander';
import { herdVersion } from './version.js';
import type { RawOptions } from './options.js';
import { addOptions, COMMAND_OPTIONS, type CommandName } from './option-table.js';
import { EXIT_HOSTS_FAILED, EXIT_USAGE } from './exit-codes.js';
import { HerdError, UsageError } from '../errors.js';
import { writeText } from '../report/terminal-safe.js';

const EXAMPLES_RUN = `
Examples:
  herd run -i inventories/loopback.txt uptime
  herd run -i web.txt -i db.txt -l 'web*,!web03' -u ops -k ~/.ssh/ops_ed25519 'df -h /'
  awk '$2=="failed"{print $1}' runs/latest/hosts.tsv | herd run -i - 'systemctl restart app'
  HERD_PASS=... herd run -i hosts.txt --password-env HERD_PASS --timeout 30 'apt-get -s upgrade'

Results go to ./runs/<run-id>/ (and ./runs/latest): hosts.tsv, failed.txt, stdout/<host>,
stderr/<host>, output.log, journal.ndjson, run.json. Exit code 0 when every host is ok,
1 when any host is not ok, 2 on bad usage or input (nothing ran), 130 when interrupted.`;

const EXAMPLES_PLAY = `
Examples:
  herd play -i inventories/loopback.txt playbooks/data-disks.yml --check   # inspect, change nothing
  herd play -i storage.txt playbooks/data-disks.yml -e dev=/dev/sdb -e mnt=/data
  herd play -i web.txt playbooks/deploy.yml --become-pass-env SUDO_PASS
  herd rerun            # resume the hosts that failed at the step where they stopped

Per-step results go to steps.tsv and steps/<play>.<step>/{stdout,stderr}/<host>.`;

const EXAMPLES_HOSTS = `
Examples:
  herd hosts -i inventories/loopback.txt
  herd hosts -i fleet.ini -l 'storage,&dc1,!10.0.0.[1-9]'
  herd hosts -i runs/latest/failed.txt`;

const EXAMPLES_RERUN = `
Examples:
  herd rerun                       # the hosts of runs/latest that did not end ok
  herd rerun runs/20261124T103455.123Z-3f9a0c12be47 --include-interrupted
  herd rerun latest --timeout 60   # same command, new timeout`;

export function buildProgram(): Command {
  const program = new Command('herd');
  program
    .description(
      'Parallel SSH for fleets: run commands on many hosts, keep greppable per-host results, rerun what failed.',
    )
    .version(herdVersion(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    // One style for every error, commander's too: `herd: unknown option '--x'` (subcommands inherit this).
    .configureOutput({ outputError: (str, write) => write(`herd: ${str.replace(/^error: /, '')}`) })
    .exitOverride();

  // Settings from herd.yml, ~/.config/herd/config.yml and HERD_* fill what the command line did not
  // give, before any command reads its options; a bad file stops every command here (exit 2).
  program.hook('preAction', async (_program, action) => {
    const name = action.name();
    if (!Object.hasOwn(COMMAND_OPTIONS, name)) return;
    const { applyConfig } = await import('./config-load.js');
    applyConfig(action, name as CommandName);
  });

  const run = program
    .command('run')
    .description('run a shell command on every selected host')
    .argument('<command...>', 'the command (quote it to keep your local shell off it)');
  addOptions(run, 'run');
  run.addHelpText('after', EXAMPLES_RUN).action(async (words: string[], raw: RawOptions, cmd: Command) => {
    const { runCommand } = await import('./commands/run.js');
    process.exitCode = await runCommand(words, raw, cmd);
  });

  for (const direction of ['push', 'pull'] as const) {
    const cmd = program
      .command(direction)
      .description(
        direction === 'push'
          ? 'send a file or directory tree to every selected host (SFTP)'
          : 'fetch a file or directory tree from every host into LOCAL_DIR/<host>/ (SFTP)',
      )
      .argument(
        direction === 'push' ? '<local_path>' : '<remote_path>',
        direction === 'push'
          ? 'local file or directory (a trailing / sends its contents)'
          : 'remote file or directory; {{ host }} and other built-ins allowed',
      )
      .argument(
        direction === 'push' ? '<remote_path>' : '<local_dir>',
        direction === 'push'
          ? 'remote destination; {{ host }} and other built-ins allowed'
          : 'local directory that gets one folder per host',
      );
    addOptions(cmd, direction);
    cmd.addHelpText(
      'after',
      direction === 'push'
        ? '\nExamples:\n  herd push -i web.txt ./app/ /opt/app\n  herd push -i web.txt config.yml /etc/app/config-{{ host }}.yml\n\nEach file goes to a temporary name and is renamed into place; unchanged files (same size and mtime) are skipped. Per-file results: transfers.tsv.'
        : '\nExamples:\n  herd pull -i web.txt /var/log/app collected\n  herd pull -i db.txt /etc/my.cnf configs    # configs/<host>/my.cnf\n\nRemote names that would land outside LOCAL_DIR/<host>/ are refused. Per-file results: transfers.tsv.',
    );
    cmd.action(async (a: string, b: string, raw: RawOptions) => {
      const { transferCommand } = await import('./commands/transfer.js');
      process.exitCode = await transferCommand(direction, a, b, raw);
    });
  }

  const play = program
    .command('play')
    .description('run a YAML playbook: steps in order per host, guards, consensus gates, a journal for resume')
    .argument('<playbook>', 'playbook file (YAML)');
  addOptions(play, 'play');
  play.addHelpText('after', EXAMPLES_PLAY).action(async (file: string, raw: RawOptions) => {
    const { playCommand } = await import('./commands/play.js');
    process.exitCode = await playCommand(file, raw);
  });

  const hosts = program.command('hosts').description('print the selected hosts, one per line');
  addOptions(hosts, 'hosts');
  hosts.addHelpText('after', EXAMPLES_HOSTS).action(async (raw: RawOptions) => {
    const { hostsCommand } = await import('./commands/hosts.js');
    process.exitCode = hostsCommand(raw);
  });

  const rerun = program
    .command('rerun')
    .description('run the same task again on the hosts of a run that did not end ok')
    .argument('[run]', 'run id, run directory, or latest', 'latest');
  addOptions(rerun, 'rerun');
  rerun.addHelpText('after', EXAMPLES_RERUN).action(async (which: string, raw: RawOptions, cmd: Command) => {
    const { rerunCommand } = await import('./commands/rerun.js');
    process.exitCode = await rerunCommand(which, raw, cmd);
  });

  addOptions(program.command('runs'), 'runs')
    .description('list past runs, newest first: id, start, command, counts by status, what ran')
    .action(async (raw: { out?: string; limit?: string; json?: boolean }) => {
      const { runsCommand } = await import('./commands/runs.js');
      process.exitCode = runsCommand(raw);
    });

  addOptions(program.command('show'), 'show')
    .description('show a past run again: hosts grouped by output, failures by reason')
    .argument('[run]', 'run id, run directory, or latest', 'latest')
    .addHelpText(
      'after',
      '\nExamples:\n  herd show\n  herd show --all\n  herd show latest --status unreachable | herd run -i - uptime\n  herd show 20261124T103455.123Z-3f9a0c12be47 --host 10.0.0.7',
    )
    .action(async (which: string, raw: import('./commands/show.js').ShowRaw) => {
      const { showCommand } = await import('./commands/show.js');
      process.exitCode = showCommand(which, raw);
    });

  addOptions(program.command('report'), 'report')
    .description('write one self-contained HTML report of a past run (counts, durations, failures, outputs, hosts)')
    .argument('[run]', 'run id, run directory, or latest', 'latest')
    .addHelpText(
      'after',
      '\nExamples:\n  herd report                       # runs/latest/report.html\n  herd report latest -o ticket-4711.html\n' +
        '  herd report 20261124T103455.123Z-3f9a0c12be47 --runs-dir /var/lib/herd/runs',
    )
    .action(async (which: string, raw: import('./commands/report.js').ReportRaw) => {
      const { reportCommand } = await import('./commands/report.js');
      process.exitCode = reportCommand(which, raw);
    });

  addOptions(program.command('diff'), 'diff')
    .description(
      'show the hosts whose output differs from the majority (or from --against HOST), as unified diffs; exit 1 when any differ',
    )
    .argument('[run]', 'run id, run directory, or latest', 'latest')
    .addHelpText(
      'after',
      '\nExamples:\n  herd diff                       # latest run: who printed something else?\n  herd diff latest --step 1.1     # the inspection step of a playbook run\n  herd diff --against 10.0.0.7',
    )
    .action(async (which: string, raw: { out?: string; step?: string; against?: string; json?: boolean }) => {
      const { diffCommand } = await import('./commands/diff.js');
      process.exitCode = diffCommand(which, raw);
    });

  addOptions(program.command('merge'), 'merge')
    .description('merge the shard run directories of one sharded run (--shard) into one run directory')
    .argument('<shard_dir...>', 'the run directory of each shard')
    .addHelpText(
      'after',
      '\nExamples:\n  herd merge /shared/runs/*/ -o /shared/merged/nightly-42\n  herd rerun /shared/merged/nightly-42',
    )
    .action(async (dirs: string[], raw: import('./commands/merge.js').MergeRaw) => {
      const { mergeCommand } = await import('./commands/merge.js');
      process.exitCode = mergeCommand(dirs, raw);
    });

  addOptions(program.command('shell'), 'shell')
    .description(
      'connect to the selected hosts once, then run each line typed (or piped) on them over those connections',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  herd shell -i storage.txt -l storage\n  herd shell -i hosts.txt < commands.txt   # one handshake per host for every line\n' +
        '\nLines starting with : are built-ins (:help lists them). Each command writes a run directory as herd run does.\n' +
        'Piped input: the exit code is the worst of the lines (0 < 1 < 2 < 130).',
    )
    .action(async (raw: RawOptions) => {
      const { shellCommand } = await import('./commands/shell.js');
      process.exitCode = await shellCommand(raw);
    });

  addOptions(program.command('connections'), 'connections')
    .description(
      'list the connections kept by --persist (keeper pid, hosts by user, age, idle time); --close ends them',
    )
    .action(async (raw: import('./commands/connections.js').ConnectionsRaw) => {
      const { connectionsCommand } = await import('./commands/connections.js');
      process.exitCode = await connectionsCommand(raw);
    });

  addOptions(program.command('config'), 'config')
    .description(
      'print the effective settings and where each comes from: built-in, a file and line, HERD_*, the command line',
    )
    .addHelpText(
      'after',
      '\nSettings come from, highest first: the command line, HERD_* variables, herd.yml (this directory or the nearest\n' +
        'parent, up to the repository root), $XDG_CONFIG_HOME/herd/config.yml (~/.config/herd/config.yml), built-in.\n' +
        '\nExamples:\n  herd config\n  herd config | grep forks\n  herd config --json',
    )
    .action(async (raw: { json?: boolean }, cmd: Command) => {
      const { configCommand } = await import('./commands/config.js');
      const { currentConfig } = await import('./config-load.js');
      process.exitCode = configCommand(cmd, currentConfig(), raw.json === true);
    });

  program
    .command('completion')
    .description('print a shell completion script')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      '\nExamples:\n  eval "$(herd completion bash)"\n  herd completion fish > ~/.config/fish/completions/herd.fish',
    )
    .action(async (shell: string) => {
      const { completionScript } = await import('./completion.js');
      const script = completionScript(program, shell);
      if (script === null) throw new UsageError(`completion: expected bash, zsh or fish, got ${JSON.stringify(shell)}`);
      process.stdout.write(script);
    });

  return program;
}

/** Parse argv and run; maps every error to one stderr line and an exit code. */
export async function main(argv: string[]): Promise<void> {
  // `herd ... | head` closes the pipe early: stop writing to it quietly, but let a run finish
  // its result files (they, not stdout, are the record).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander already printed help, the version, or its own usage message.
    return err.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  // A message may quote an inventory, a host list or a run directory that hosts' output built:
  // on a terminal its controls are shown, not obeyed.
  if (err instanceof UsageError) {
    writeText(process.stderr, `herd: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof HerdError) {
    writeText(process.stderr, `herd: ${err.code}: ${err.message}\n`);
    return EXIT_HOSTS_FAILED;
  }
  writeText(
    process.stderr,
    `herd: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return 70;
}
