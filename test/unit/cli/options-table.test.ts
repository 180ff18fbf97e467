// Say what you do: every option a command takes (src/cli/option-table.ts) has an effect on that
// command, and this table names the test that proves it. An option without a row fails here, so a
// new option cannot be added without its proof; a row whose test is gone (renamed, deleted) fails
// too. The commander program must declare exactly the options of the option table.
// To add an option: add a row `'<command> <long flag>': [proof, ...]`, each proof a [file, test
// title] pair (file relative to test/, title as written in its it()).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../../../src/cli/main.js';
import { completionScript } from '../../../src/cli/completion.js';
import { COMMAND_OPTIONS, OPTIONS, flagOf, type CommandName, type OptionRow } from '../../../src/cli/option-table.js';

type Proof = [file: string, test: string];

const O = 'e2e/options.test.ts';
/** Flags shared by run, push, pull, play and rerun reach the session (run.json) and select hosts (-i, -l, -J). */
const SHARED: Proof = [
  O,
  'reach the run on run, push, pull, play and rerun: run.json records what the session was given',
];
const ASK: Proof = [
  O,
  '--ask-pass, --ask-key-passphrase and --ask-become-pass prompt on a terminal, so without one the run is refused (exit 2)',
];
const DISPLAY: Proof = [
  O,
  '--json prints events on stdout and -q leaves the failures out of the summary, on every command',
];
const PROGRESS: Proof = [
  O,
  '--no-progress silences the progress line and --grace sets how long running work gets after Ctrl-C',
];
const RERUN_KINDS: Proof = [
  O,
  'refuses flags that do not apply to the kind of run it repeats, naming the flag (exit 2)',
];
const STREAM_GROUP: Proof = [
  O,
  'play and rerun --stream print host: line as output arrives; rerun --no-group drops the grouped view',
];
const PAST: Proof = [O, 'diff --step and --against pick the step and the reference; runs -n limits the list'];

/** What each shared flag does, proven on `herd run` against real hosts. */
const MECHANISM: Record<string, Proof[]> = {
  '--ssh-config': [
    ['e2e/jump.test.ts', 'follows ProxyJump, HostName, User, Port and IdentityFile from -F, and chains of jump hosts'],
  ],
  '--jump': [
    ['e2e/jump.test.ts', 'reaches hosts only the bastion can reach, carrying several sessions per bastion connection'],
  ],
  '--jump-sessions': [
    ['e2e/jump.test.ts', 'reaches hosts only the bastion can reach, carrying several sessions per bastion connection'],
  ],
  '--user': [
    ['e2e/run-fleet.test.ts', 'gives every host its own stdout file and writes hosts.tsv, failed.txt and run.json'],
  ],
  '--port': [
    ['e2e/run-fleet.test.ts', 'gives every host its own stdout file and writes hosts.tsv, failed.txt and run.json'],
  ],
  '--key': [['e2e/run-faults.test.ts', 'marks a wrong key as auth_failed']],
  '--ask-pass': [ASK],
  '--password-env': [
    ['e2e/run-faults.test.ts', 'logs in with the right password and keeps it out of every file and output'],
  ],
  '--key-passphrase-env': [
    [
      'e2e/run-keys.test.ts',
      'logs in with the passphrase from --key-passphrase-env, which appears nowhere in the run directory',
    ],
  ],
  '--ask-key-passphrase': [
    ['e2e/terminal.test.ts', 'asks for a key passphrase on the terminal without echoing it, then logs in with the key'],
  ],
  '--known-hosts': [['e2e/run-fleet.test.ts', 'accepts keys from hashed known_hosts entries']],
  '--strict-host-keys': [['e2e/run-fleet.test.ts', 'refuses unknown keys under --strict-host-keys and runs nothing']],
  '--host-key-checking': [
    ['e2e/run-limits.test.ts', 'retries a handshake reset with backoff, and without retries reports the reset'],
  ],
  '--connect-timeout': [
    ['e2e/run-faults.test.ts', 'gives each host the right status and reason, and the run ends within its timeouts'],
  ],
  '--connect-retries': [
    ['e2e/run-limits.test.ts', 'retries a handshake reset with backoff, and without retries reports the reset'],
  ],
  '--connect-rate': [
    [O, '--max-handshakes bounds the handshakes in progress and --connect-rate spaces connection starts'],
  ],
  '--forks': [
    ['e2e/run-limits.test.ts', 'clamps --forks to fit ulimit -n with a warning instead of failing hosts with EMFILE'],
    ['e2e/play-connections.test.ts', 'never hold more connections open than --forks, even with more workers than that'],
  ],
  '--workers': [
    ['e2e/run-workers.test.ts', 'records its running hosts as interrupted while every other host finishes'],
  ],
  '--max-handshakes': [
    [O, '--max-handshakes bounds the handshakes in progress and --connect-rate spaces connection starts'],
  ],
  '--deadline': [
    [
      'e2e/run-limits.test.ts',
      '--deadline ends the whole run: running hosts stop as timeout, unstarted ones are not_started, all listed in failed.txt',
    ],
  ],
  '--grace': [['e2e/run-signals.test.ts', 'is how long running commands get after one Ctrl-C before they are stopped']],
  '--out': [
    ['e2e/run-fleet.test.ts', 'gives every host its own stdout file and writes hosts.tsv, failed.txt and run.json'],
  ],
  '--quiet': [],
  '--json': [
    [
      'e2e/display.test.ts',
      'prints one JSON event per line on stdout: run_start, host_start, output, host_done, run_done',
    ],
  ],
  '--no-progress': [
    [
      'e2e/terminal.test.ts',
      'draws live counts while running, then the folded groups and summary, with no escape garbage',
    ],
  ],
  '--idle-timeout': [
    [
      'e2e/run-limits.test.ts',
      '--idle-timeout stops a silent command (killed on the host) and spares one that keeps talking',
    ],
  ],
  '--max-output': [['e2e/run-limits.test.ts', '--max-output keeps the first bytes per host and says what it dropped']],
  '--stream': [['e2e/display.test.ts', 'prints host: line as output arrives, without colour when not a terminal']],
  '--no-color': [
    [
      'e2e/terminal.test.ts',
      'colours the host names of --stream lines, on run and play, and --no-color leaves them plain',
    ],
  ],
  '--timeout': [
    ['e2e/run-faults.test.ts', 'gives each host the right status and reason, and the run ends within its timeouts'],
  ],
  '--no-group': [
    ['e2e/run-fleet.test.ts', 'groups hosts with identical output, folds them into ranges and marks the minority'],
  ],
  '--inventory': [['e2e/run-fleet.test.ts', 'accepts its own failed.txt and hosts.tsv back as inventories']],
  '--limit': [],
};

/** The proof of a shared flag on one command: the mechanism on run, and that this command hands the flag to the run. */
function shared(flag: string): Proof[] {
  const mechanism = MECHANISM[flag];
  if (!mechanism) throw new Error(`no mechanism row for ${flag}`);
  const own: Proof[] = ['--ask-pass', '--ask-key-passphrase'].includes(flag)
    ? [ASK]
    : ['--quiet', '--json'].includes(flag)
      ? [DISPLAY]
      : ['--no-progress', '--grace'].includes(flag)
        ? [PROGRESS]
        : ['--stream', '--no-color', '--no-group'].includes(flag)
          ? [STREAM_GROUP]
          : [SHARED];
  return [...mechanism, ...own];
}

const CONNECTION = [
  '--ssh-config',
  '--jump',
  '--jump-sessions',
  '--user',
  '--port',
  '--key',
  '--ask-pass',
  '--password-env',
  '--key-passphrase-env',
  '--ask-key-passphrase',
  '--known-hosts',
  '--strict-host-keys',
  '--host-key-checking',
  '--connect-timeout',
  '--connect-retries',
  '--connect-rate',
];
const POOL = [
  '--forks',
  '--workers',
  '--max-handshakes',
  '--deadline',
  '--grace',
  '--out',
  '--quiet',
  '--json',
  '--no-progress',
];
const OUTPUT = ['--idle-timeout', '--max-output', '--stream', '--no-color'];
const rows = (command: string, flags: string[], extra: Proof[] = []): [string, Proof[]][] =>
  flags.map((f) => [`${command} ${f}`, [...shared(f), ...extra]]);

const TRANSFER: Proof = [
  'e2e/transfer.test.ts',
  'round-trips to 20 hosts with templated destinations, byte for byte and mode for mode; a second push sends nothing',
];
const CHECKSUM: Proof = [
  'e2e/transfer.test.ts',
  '--checksum catches a same-size, same-mtime change that size+mtime misses; --delete removes only extras inside the tree',
];

/** -i read as Ansible's or herd's format: every command that takes -i loads it through freshRun (cli/launch.ts). */
const INVENTORY_FORMAT: Proof = [
  'e2e/inventory-ansible.test.ts',
  '--inventory-format ansible reads a .txt file as Ansible INI, which herd format refuses with a pointer to the flag',
];

const SH = 'e2e/shard.test.ts';
const SHARD_SPLIT: Proof = [
  SH,
  'runs each selected host in exactly one shard and records the shard, its run group and the host list digest',
];
const SHARD_AUTO: Proof = [
  SH,
  '--shard auto takes the shard from a Slurm job array, and refuses (exit 2, naming the variables) without one',
];
const SHARD_KINDS: Proof = [
  SH,
  "runs only the shard's hosts on each; --shard-by group keeps a group's hosts in one shard",
];
const SHARD_ROWS = (c: string): [string, Proof[]][] => [
  [`${c} --shard`, c === 'run' ? [SHARD_SPLIT, SHARD_AUTO] : [SHARD_KINDS]],
  [`${c} --shard-by`, [SHARD_KINDS]],
  [
    `${c} --shard-count`,
    [
      SHARD_AUTO,
      [
        'unit/inventory/shard.test.ts',
        'reads a Kubernetes Indexed Job with the count from --shard-count, and says when it is missing',
      ],
    ],
  ],
  [`${c} --run-group`, [SHARD_SPLIT, SHARD_KINDS]],
];

/** herd shell hands each flag to every command's run (run.json), the mechanism proven on run. */
const SHELL_FLAGS: Proof = [
  'e2e/shell.test.ts',
  "hands its selection, connection, pool and output flags to every command's run: run.json records them",
];
const SHELL_STREAM: Proof = [
  'e2e/shell.test.ts',
  'prints host: line as output arrives with --stream, until :stream off',
];

const KEEPER = 'e2e/keeper.test.ts';
const PERSIST_RUN: Proof = [
  KEEPER,
  'leaves a keeper whose connections the next commands reuse: one login per host across three runs',
];
const PERSIST_KINDS: Proof = [
  KEEPER,
  'push --persist leaves a keeper that pull and play then run over: one login per host across the three',
];

const TABLE: Record<string, Proof[]> = Object.fromEntries([
  ...['--inventory', '--limit', ...CONNECTION, '--forks', '--workers', '--max-handshakes', '--out', '--no-progress']
    .concat(['--idle-timeout', '--max-output', '--no-color', '--timeout'])
    .map((f): [string, Proof[]] => [`shell ${f}`, [...(MECHANISM[f] ?? []), SHELL_FLAGS]]),
  ['shell --inventory-format', [INVENTORY_FORMAT, SHELL_FLAGS]],
  ['shell --stream', [...MECHANISM['--stream']!, SHELL_STREAM]],
  ['run --persist', [PERSIST_RUN]],
  [
    'connections --close',
    [[KEEPER, 'lists what the keeper holds by user (pid, hosts, age, idle) and --close ends it']],
  ],
  ['connections --json', [[KEEPER, 'lists what the keeper holds by user (pid, hosts, age, idle) and --close ends it']]],
  ...['push', 'pull', 'play'].map((c): [string, Proof[]] => [`${c} --persist`, [PERSIST_KINDS]]),
  ...['run', 'push', 'pull', 'play', 'rerun'].flatMap(SHARD_ROWS),
  ...['--shard', '--shard-by', '--shard-count'].map((f): [string, Proof[]] => [
    `hosts ${f}`,
    [[SH, 'herd hosts --shard lists the hosts that shard would run, before anything runs']],
  ]),
  [
    'merge --out',
    [
      [SH, 'joins 3 shards into the run an unsharded run of the same mixed fleet is (statuses, exits, outputs)'],
      [
        SH,
        "makes a missing shard's hosts not_started (exit 1), gives the same bytes twice, and herd rerun finishes them",
      ],
    ],
  ],
  ...(['run', 'push', 'pull', 'play', 'hosts'] as const).map((c): [string, Proof[]] => [
    `${c} --inventory-format`,
    [INVENTORY_FORMAT],
  ]),
  [
    'hosts --vars',
    [
      [
        'e2e/inventory-ansible.test.ts',
        '--vars prints each host with its resolved variables, group variables under host variables',
      ],
      [
        'e2e/ansible-inventory-oracle.test.ts',
        'reads %s with the hosts, groups and variables ansible-inventory --list gives',
      ],
    ],
  ],
  ['hosts --graph', [['e2e/ansible-inventory-oracle.test.ts', 'draws %s as ansible-inventory --graph does']]],
  ...rows('run', ['--inventory', '--limit', ...CONNECTION, ...POOL, ...OUTPUT, '--timeout']),
  ['run --no-group', MECHANISM['--no-group']!],
  ['run --stream', MECHANISM['--stream']!],
  ['run --no-color', MECHANISM['--no-color']!],
  ...(['push', 'pull'] as const).flatMap((c) => [
    ...rows(c, ['--inventory', '--limit', ...CONNECTION, ...POOL]),
    [`${c} --no-times`, [TRANSFER, SHARED]],
    [`${c} --checksum`, [CHECKSUM]],
    [`${c} --delete`, [CHECKSUM]],
  ]),
  [
    'pull --keep-special-bits',
    [
      [
        'e2e/hostile-host.test.ts',
        'keeps only the 0777 permission bits of a pulled file; --keep-special-bits keeps setuid, setgid and sticky',
      ],
      ['e2e/hostile-host.test.ts', 'herd rerun keeps --keep-special-bits'],
    ],
  ],
  [
    'push --follow-links',
    [
      [
        'e2e/transfer.test.ts',
        'recreates symlinks as links by default, and sends what they point to with --follow-links',
      ],
    ],
  ],
  ...rows('play', ['--inventory', '--limit', ...CONNECTION, ...POOL, ...OUTPUT]),
  ['play --check', [['e2e/play.test.ts', 'changes nothing on any host and reports would_run and would_skip']]],
  ['play --var', [SHARED]],
  ['play --ask-become-pass', [ASK]],
  [
    'play --become-pass-env',
    [['e2e/play.test.ts', 'runs steps as root through a real sudo that wants a password, which appears nowhere']],
  ],
  ...rows('rerun', [...CONNECTION, ...POOL, ...OUTPUT, '--timeout', '--no-group'], [RERUN_KINDS]),
  [
    'rerun --include-interrupted',
    [
      [O, '--include-interrupted reruns a host whose command was interrupted, which rerun leaves out otherwise'],
      RERUN_KINDS,
    ],
  ],
  ['rerun --from-start', [['unit/results/resume.test.ts', 'starts over with --from-start'], RERUN_KINDS]],
  [
    'rerun --resume-unguarded',
    [['unit/results/resume.test.ts', 'resumes unguarded interrupted steps only when asked'], RERUN_KINDS],
  ],
  [
    'rerun --include-diverged',
    [
      ['unit/results/resume.test.ts', 'leaves them out without --include-diverged, naming the flag'],
      [
        'e2e/play-honesty.test.ts',
        'resumes hosts held back by a gate at the gate step and judges them against the earlier majority',
      ],
      RERUN_KINDS,
    ],
  ],
  ['rerun --ask-become-pass', [ASK, RERUN_KINDS]],
  [
    'rerun --become-pass-env',
    [
      ['e2e/play.test.ts', 'runs steps as root through a real sudo that wants a password, which appears nowhere'],
      RERUN_KINDS,
    ],
  ],
  ['hosts --inventory', [['e2e/display.test.ts', 'hosts, runs, show and diff each print one JSON object per line']]],
  ['hosts --limit', [['e2e/display.test.ts', 'hosts, runs, show and diff each print one JSON object per line']]],
  ['hosts --json', [['e2e/display.test.ts', 'hosts, runs, show and diff each print one JSON object per line']]],
  [
    'runs --out',
    [
      [
        'e2e/run-fleet.test.ts',
        'herd runs lists runs newest first and herd show replays the grouped view, one host, or a status',
      ],
    ],
  ],
  ['runs --limit', [PAST]],
  ['runs --json', [['e2e/display.test.ts', 'hosts, runs, show and diff each print one JSON object per line']]],
  [
    'show --out',
    [
      [
        'e2e/run-fleet.test.ts',
        'herd runs lists runs newest first and herd show replays the grouped view, one host, or a status',
      ],
    ],
  ],
  [
    'show --host',
    [
      [
        'e2e/run-fleet.test.ts',
        'herd runs lists runs newest first and herd show replays the grouped view, one host, or a status',
      ],
    ],
  ],
  [
    'show --status',
    [
      [
        'e2e/run-fleet.test.ts',
        'herd runs lists runs newest first and herd show replays the grouped view, one host, or a status',
      ],
      PAST,
    ],
  ],
  [
    'show --all',
    [
      [
        'e2e/grouped-view.test.ts',
        'output unique per host: the largest 5 groups, then one line; herd show the same; herd show --all every group',
      ],
      [
        'e2e/grouped-view.test.ts',
        'herd show --all with a flag that prints something else is refused before reading the run',
      ],
    ],
  ],
  [
    'report --output',
    [
      ['e2e/report.test.ts', 'shows the counts, filters hosts from the URL hash, runs nothing a host printed'],
      ['e2e/report.test.ts', 'refuses an -o it cannot write before reading anything, naming the flag (exit 2)'],
    ],
  ],
  [
    'report --runs-dir',
    [['e2e/report.test.ts', 'shows the counts, filters hosts from the URL hash, runs nothing a host printed']],
  ],
  ['show --json', [['e2e/display.test.ts', 'hosts, runs, show and diff each print one JSON object per line']]],
  [
    'diff --out',
    [['e2e/display.test.ts', 'shows who differs from the majority in a past run and exits 1, or 0 when all agree']],
  ],
  ['diff --step', [PAST]],
  ['diff --against', [PAST]],
  ['diff --json', [['e2e/display.test.ts', 'hosts, runs, show and diff each print one JSON object per line']]],
  // herd config shows an option given on its command line as such; the option's effect on a run is its row above.
  ...COMMAND_OPTIONS.config
    .filter((k) => k !== 'json')
    .map((k): [string, Proof[]] => [
      `config ${flagOf(k, 'config')}`,
      [['e2e/config.test.ts', 'takes every option a file may set on its command line, and shows each as command line']],
    ]),
  [
    'config --json',
    [
      [
        'e2e/config.test.ts',
        'shows each setting with its source: built-in, herd.yml:line:column, env, command line; --json too',
      ],
    ],
  ],
]);

const TEST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function declared(program: Command): string[] {
  return program.commands.flatMap((c) => c.options.map((o) => `${c.name()} ${o.long ?? o.short}`));
}

/** Each command's options as the option table lists them. */
function fromTable(): string[] {
  return (Object.entries(COMMAND_OPTIONS) as [CommandName, readonly (keyof typeof OPTIONS)[]][]).flatMap(([c, keys]) =>
    keys.map((k) => `${c} ${flagOf(k, c)}`),
  );
}

describe('every declared option has an effect on its command', () => {
  it('has a row in the table for each option each command takes, and no row for an option it does not', () => {
    const have = fromTable().sort();
    const table = Object.keys(TABLE).sort();
    expect(
      have.filter((k) => !(k in TABLE)),
      'options without a proven effect',
    ).toEqual([]);
    expect(
      table.filter((k) => !have.includes(k)),
      'rows for options no command declares',
    ).toEqual([]);
  });

  it('declares on the commander program exactly the options of the option table, in its order', () => {
    expect(declared(buildProgram())).toEqual(fromTable());
    // Flags and help too: nothing is declared outside the table and then shadowed by a row.
    for (const c of buildProgram().commands) {
      const keys = COMMAND_OPTIONS[c.name() as CommandName] ?? [];
      expect(
        c.options.map((o) => [o.flags, o.description]),
        c.name(),
      ).toEqual(
        keys.map((k) => {
          const row: OptionRow = OPTIONS[k];
          const here = row.on?.[c.name() as CommandName];
          return [here?.flags ?? row.flags, here?.help ?? row.help];
        }),
      );
    }
  });

  it('names proofs that exist: each test file has a test with that title', () => {
    const missing: string[] = [];
    for (const [row, proofs] of Object.entries(TABLE)) {
      expect(proofs.length, `${row} names no proof`).toBeGreaterThan(0);
      for (const [file, title] of proofs) {
        const text = fs.readFileSync(path.join(TEST_DIR, file), 'utf8');
        if (!text.includes(title)) missing.push(`${row}: ${file} > ${title}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('completion offers exactly the options each command accepts', () => {
    const program = buildProgram();
    const script = completionScript(program, 'bash')!;
    for (const c of program.commands) {
      if (c.name() === 'completion') continue;
      const m = new RegExp(`^    ${c.name()}\\) opts="([^"]*)" ;;$`, 'm').exec(script);
      expect(m, c.name()).not.toBeNull();
      expect(m![1]!.split(' ').filter(Boolean).sort()).toEqual(c.options.map((o) => o.long ?? o.short).sort());
    }
    expect(script).not.toMatch(/play\) opts="[^"]*--timeout/);
  });
});
