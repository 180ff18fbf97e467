// Every command-line option of every command, declared once. Derived from this table: the commander
// options of each command (flags, help, order), the raw option type, the number rules and their
// messages, the typed resolved value of each plain option (into, resolve), the run.json `options`
// record, the worker config, rerun's restore from run.json and rerun's refusal of flags that do not
// apply to the kind of run it repeats.
//
// A typed table rather than @commander-js/extra-typings: extra-typings types what commander parses,
// but the same declaration must also drive run.json and rerun, which it knows nothing about.
import path from 'node:path';
import { Option, type Command } from 'commander';
import {
  DEFAULT_COMMAND_TIMEOUT_S,
  DEFAULT_CONNECT_RATE,
  DEFAULT_CONNECT_RETRIES,
  DEFAULT_CONNECT_TIMEOUT_S,
  DEFAULT_FORKS,
  DEFAULT_GRACE_S,
  DEFAULT_JUMP_SESSIONS,
  DEFAULT_MAX_HANDSHAKES,
  DEFAULT_OUT_DIR,
  DEFAULT_PORT,
  DEFAULT_RUNS_LIMIT,
  defaultKnownHostsPath,
  defaultWorkers,
  HOSTS_PER_WORKER,
} from '../defaults.js';
import type { RunRequest } from '../engine/run.js';
import { INVENTORY_FORMATS } from '../inventory/format.js';
import { SHARD_RULES } from '../inventory/shard.js';
import type { RunOptionsRecord, RunTaskRecord } from '../results/run-record.js';
import { parseJumpList, type JumpSpec } from '../transport/ssh-config.js';
import type { ConnectionOptions, RunOptions, SecretSource } from './options.js';
import { parseDuration, parseNumber, parseSize } from './parse-value.js';

export type CommandName =
  | 'run'
  | 'push'
  | 'pull'
  | 'play'
  | 'rerun'
  | 'hosts'
  | 'runs'
  | 'show'
  | 'report'
  | 'diff'
  | 'config'
  | 'merge'
  | 'shell'
  | 'connections';
export type TaskKind = RunTaskRecord['kind'];

/** Where an option's value ends up (documentation, and checked by test/unit/cli/option-table.test.ts). */
export type Destination =
  | 'selection' // which hosts (inventory, -l)
  | 'connection' // how each host is reached (connection plan, credentials)
  | 'worker' // the config every worker gets (engine/protocol.ts WorkerConfig)
  | 'session' // the parent's run session (pool size, deadline, grace, run directory)
  | 'display' // what the terminal or --json shows
  | 'task' // what runs on the hosts (command, transfer, playbook)
  | 'rerun' // which hosts and steps a rerun repeats
  | 'past-run' // commands that read run directories (runs, show, report, diff)
  | 'keeper'; // the connection keepers --persist leaves (herd connections)

/** The resolved options a run is launched with. */
export interface Resolved {
  connection: ConnectionOptions;
  run: RunOptions;
}

/** Facts known only at launch that run.json records next to the options. */
export interface RecordContext {
  /** --forks after fitting ulimit -n. */
  forks: number;
  agent: boolean;
  /** The ssh_config file actually read, if any. */
  sshConfigPath: string | null;
}

type RecordedField = Exclude<keyof RunOptionsRecord, 'known_hosts_files' | 'agent'>;

export interface RecordSpec {
  field: RecordedField;
  write: (o: Resolved, ctx: RecordContext) => unknown;
  /**
   * rerun: the raw flag values that reproduce the recorded value; absent when rerun does not restore
   * it. A run recorded before the field existed lacks it: restore then gives nothing (the default).
   */
  restore?: (rec: RunOptionsRecord) => Restored;
}

/**
 * Raw values by attribute name, untyped here because the rows themselves define RawOptions;
 * test/unit/cli/option-table.test.ts checks every restored value resolves to what was recorded.
 */
type Restored = Partial<Record<string, string | string[] | boolean>>;

/** Typed at the declaration (field and value agree), erased in the table. */
function rec<F extends RecordedField>(
  field: F,
  write: (o: Resolved, ctx: RecordContext) => RunOptionsRecord[F],
  restore?: (rec: RunOptionsRecord) => Restored,
): RecordSpec {
  return restore ? { field, write, restore } : { field, write };
}

export interface NumberSpec {
  default: number | (() => number);
  min: number;
  max?: number;
  integer?: boolean;
}

export interface OptionRow {
  /** Commander flags, e.g. '-f, --forks <n>'. */
  flags: string;
  help: string;
  /** string: one value; strings: repeatable; flag: --x; negated: --no-x (default true). */
  value: 'string' | 'strings' | 'flag' | 'negated';
  choices?: readonly string[];
  /** Commands on which the same option reads differently. */
  on?: Partial<Record<CommandName, { flags?: string; help?: string }>>;
  number?: NumberSpec;
  /**
   * A plain option: the resolved record and field its value alone sets. Absent: the option is
   * combined with others (options.ts deriveConnection, deriveRun) or is read by its command, not resolved here.
   */
  into?: readonly ['connection' | 'run', string];
  /**
   * Its resolved value from the raw value (undefined: not given) and the flag for messages.
   * Absent: by its kind: the number rule with its default, a flag given, a --no-x not given,
   * a string or null, the repeated strings.
   */
  resolve?: (value: never, flag: string) => unknown;
  goes: readonly Destination[];
  /**
   * How run.json's `options` records it (and whether rerun restores it). A function with a declared
   * type: its writers read the resolved options, whose type derives from this table.
   */
  record?: () => readonly RecordSpec[];
  /** rerun: the kinds of earlier run this flag applies to; absent: every kind. */
  rerunKinds?: readonly TaskKind[];
  /** rerun: appended to the refusal when the kind does not match. */
  rerunHint?: string;
  /** rerun: giving this flag drops these restored values (the two ways of one secret, one host key policy). */
  displaces?: readonly string[];
  /** A valid value other than the default, for the tests that walk this table. */
  example: string | readonly string[] | boolean;
}

const recordedSource = (s: SecretSource): string | null =>
  s === null ? null : s.kind === 'env' ? `env:${s.variable}` : 'prompt';
const restoredSource = (s: string | null | undefined, ask: string, env: string): Restored =>
  s?.startsWith('env:') ? { [env]: s.slice(4) } : s === 'prompt' ? { [ask]: true } : {};
/** A recorded number, as the flag that sets it; nothing for runs recorded before it existed. */
const restoreNumber = (v: number | null | undefined, key: string): Restored =>
  v === undefined || v === null ? {} : { [key]: String(v) };

const RERUN_PLAYBOOK = 'playbook runs: ';
const PORT: NumberSpec = { default: DEFAULT_PORT, min: 1, max: 65535, integer: true };

export const OPTIONS = {
  // push and pull
  times: {
    flags: '--no-times',
    help: 'do not keep modification times (then unchanged files are sent again)',
    value: 'negated',
    goes: ['task'],
    example: false,
  },
  checksum: {
    flags: '--checksum',
    help: 'skip files by sha256 (the host side computed on the host) instead of size and mtime',
    value: 'flag',
    goes: ['task'],
    example: true,
  },
  delete: {
    flags: '--delete',
    help: 'remove destination files the source does not have (only inside the destination tree)',
    value: 'flag',
    goes: ['task'],
    example: true,
  },
  followLinks: {
    flags: '--follow-links',
    help: 'send what symlinks point to instead of recreating the links',
    value: 'flag',
    goes: ['task'],
    example: true,
  },
  keepSpecialBits: {
    flags: '--keep-special-bits',
    help: "keep the setuid, setgid and sticky bits of the host's files (default: the 0777 bits only)",
    value: 'flag',
    goes: ['task'],
    example: true,
  },
  // play
  check: {
    flags: '--check',
    help: 'change nothing: run only check steps and guards, report the rest as would_run / would_skip (a check failing after them: unverified)',
    value: 'flag',
    goes: ['task'],
    example: true,
  },
  var: {
    flags: '-e, --var <name=value>',
    help: 'set a playbook variable (repeatable; overrides play vars and inventory variables; its value may use the built-ins host, port, user, run_id)',
    value: 'strings',
    goes: ['task'],
    example: ['a=b'],
  },
  // rerun
  includeInterrupted: {
    flags: '--include-interrupted',
    help: 'command and transfer runs: also rerun hosts whose command may have run (interrupted)',
    value: 'flag',
    goes: ['rerun'],
    rerunKinds: ['command', 'transfer'],
    rerunHint: ' (a playbook rerun resumes interrupted guarded steps; see --resume-unguarded)',
    example: true,
  },
  fromStart: {
    flags: '--from-start',
    help: 'playbook runs: run every step again instead of resuming',
    value: 'flag',
    goes: ['rerun'],
    rerunKinds: ['playbook'],
    example: true,
  },
  resumeUnguarded: {
    flags: '--resume-unguarded',
    help: 'playbook runs: also resume hosts interrupted inside a step that has no guard',
    value: 'flag',
    goes: ['rerun'],
    rerunKinds: ['playbook'],
    example: true,
  },
  includeDiverged: {
    flags: '--include-diverged',
    help: 'playbook runs: also rerun hosts held back by a consensus gate (judged against the earlier majority)',
    value: 'flag',
    goes: ['rerun'],
    rerunKinds: ['playbook'],
    example: true,
  },
  // play and rerun
  askBecomePass: {
    flags: '--ask-become-pass',
    help: 'prompt for the sudo password used by become steps',
    on: { rerun: { help: `${RERUN_PLAYBOOK}prompt for the sudo password used by become steps` } },
    value: 'flag',
    goes: ['task'],
    rerunKinds: ['playbook'],
    displaces: ['becomePassEnv'],
    example: true,
  },
  becomePassEnv: {
    flags: '--become-pass-env <var>',
    help: 'read the sudo password for become steps from this environment variable',
    on: { rerun: { help: `${RERUN_PLAYBOOK}read the sudo password for become steps from this environment variable` } },
    value: 'string',
    goes: ['task'],
    rerunKinds: ['playbook'],
    displaces: ['askBecomePass'],
    example: 'SUDO_PASS',
  },
  // Commands that read run directories. (--json, -o and -n are declared below with the run flags.)
  host: {
    flags: '--host <host>',
    help: "print one host's stdout (and stderr on stderr)",
    value: 'string',
    goes: ['past-run'],
    example: 'h1',
  },
  status: {
    flags: '--status <status>',
    help: 'list the hosts that ended with this status',
    value: 'string',
    goes: ['past-run'],
    example: 'failed',
  },
  all: {
    flags: '--all',
    help: 'every output group, even when output is unique per host (the view shows the largest few)',
    value: 'flag',
    goes: ['past-run'],
    example: true,
  },
  output: {
    flags: '-o, --output <file>',
    help: 'where to write the HTML (default: report.html in the run directory)',
    value: 'string',
    goes: ['past-run'],
    example: 'r.html',
  },
  runsDir: {
    flags: '--runs-dir <dir>',
    help: `directory holding run directories (default: ./${DEFAULT_OUT_DIR})`,
    value: 'string',
    goes: ['past-run'],
    example: 'r',
  },
  step: {
    flags: '--step <n>',
    help: 'playbook runs: the step to compare (e.g. 1.3, or 3 for play 1)',
    value: 'string',
    goes: ['past-run'],
    example: '1.1',
  },
  against: {
    flags: '--against <host>',
    help: "compare with this host's output instead of the majority",
    value: 'string',
    goes: ['past-run'],
    example: 'h1',
  },

  // Sharded runs (one shard of a logical run; herd merge joins them)
  shard: {
    flags: '--shard <K/N|auto>',
    help: 'run only shard K of N (numbered from 0) of the selected hosts; auto: from a Slurm job array or a Kubernetes Indexed Job',
    value: 'string',
    goes: ['selection'],
    example: '1/3',
  },
  shardBy: {
    flags: '--shard-by <rule>',
    help: 'with --shard: hash (a host keeps its shard when the inventory changes, the default) or group (a first group stays together)',
    value: 'string',
    choices: SHARD_RULES,
    goes: ['selection'],
    example: 'group',
  },
  shardCount: {
    flags: '--shard-count <n>',
    help: 'with --shard auto: the number of shards, where the scheduler does not say (Kubernetes Indexed Jobs)',
    value: 'string',
    goes: ['selection'],
    example: '4',
  },
  runGroup: {
    flags: '--run-group <id>',
    help: 'with --shard: the id every shard of one logical run shares (default: SLURM_ARRAY_JOB_ID, else a new id)',
    value: 'string',
    goes: ['selection'],
    example: 'nightly-42',
  },

  // Host selection
  inventory: {
    flags: '-i, --inventory <file>',
    help: 'inventory file; repeatable; - reads stdin',
    on: { shell: { help: 'inventory file; repeatable (not -: the shell reads its commands from stdin)' } },
    value: 'strings',
    goes: ['selection'],
    example: ['hosts.txt'],
  },
  inventoryFormat: {
    flags: '--inventory-format <format>',
    help: "read every -i as herd's format or as an Ansible inventory (default: .ini and .yml are Ansible's; no extension: guessed)",
    value: 'string',
    choices: INVENTORY_FORMATS,
    goes: ['selection'],
    example: 'ansible',
  },
  vars: {
    flags: '--vars',
    help: 'print each host with its resolved variables (TSV: host, then key=value columns)',
    value: 'flag',
    goes: ['display'],
    example: true,
  },
  graph: {
    flags: '--graph',
    help: 'print the group tree, as ansible-inventory --graph',
    value: 'flag',
    goes: ['display'],
    example: true,
  },
  limit: {
    flags: '-l, --limit <patterns>',
    help: 'select hosts: comma-separated groups, hosts, globs, !exclude, &intersect, @file',
    on: { runs: { flags: '-n, --limit <n>', help: `how many runs to list (default: ${DEFAULT_RUNS_LIMIT})` } },
    value: 'string',
    goes: ['selection', 'past-run'],
    example: 'web*',
  },

  // Connection
  sshConfig: {
    flags: '-F, --ssh-config <file>',
    help: 'ssh_config to read (default: ~/.ssh/config, then /etc/ssh/ssh_config; "none" reads none); command-line options override it',
    value: 'string',
    into: ['connection', 'sshConfigFile'],
    // -F as given, a file resolved; undefined: ~/.ssh/config if present.
    resolve: (v: string | undefined): string | undefined => (v === undefined || v === 'none' ? v : path.resolve(v)),
    goes: ['connection'],
    // `none` when -F none: a rerun then reads no ssh_config either (null would let it read ~/.ssh/config).
    record: (): readonly RecordSpec[] => [
      rec(
        'ssh_config',
        (o, ctx) => (o.connection.sshConfigFile === 'none' ? 'none' : ctx.sshConfigPath),
        (r) => (r.ssh_config ? { sshConfig: r.ssh_config } : {}),
      ),
    ],
    example: 'none',
  },
  jump: {
    flags: '-J, --jump <hops>',
    help: 'jump hosts: [user@]host[:port][,...], like ssh -J (overrides ProxyJump)',
    value: 'string',
    into: ['connection', 'jump'],
    resolve: (v: string | undefined): JumpSpec[] | null => (v === undefined ? null : parseJumpList(v)),
    goes: ['connection'],
    record: (): readonly RecordSpec[] => [
      rec(
        'jump',
        (o) =>
          o.connection.jump
            ?.map((h) => `${h.user ? `${h.user}@` : ''}${h.alias}${h.port ? `:${h.port}` : ''}`)
            .join(',') ?? null,
        (r) => (r.jump ? { jump: r.jump } : {}),
      ),
    ],
    example: 'ops@bastion:2222,10.0.0.1',
  },
  jumpSessions: {
    flags: '--jump-sessions <n>',
    help: `target sessions carried by one connection to a jump host; more connections are opened as needed (default: ${DEFAULT_JUMP_SESSIONS}, under OpenSSH's MaxSessions 10)`,
    value: 'string',
    into: ['connection', 'jumpSessions'],
    number: { default: DEFAULT_JUMP_SESSIONS, min: 1, max: 64, integer: true },
    goes: ['worker'],
    record: (): readonly RecordSpec[] => [
      rec(
        'jump_sessions',
        (o) => o.connection.jumpSessions,
        (r) => restoreNumber(r.jump_sessions, 'jumpSessions'),
      ),
    ],
    example: '3',
  },
  user: {
    flags: '-u, --user <name>',
    help: 'login user for hosts that do not name one (default: ssh_config User, else your local user)',
    value: 'string',
    into: ['connection', 'user'],
    goes: ['connection'],
    record: (): readonly RecordSpec[] => [
      rec(
        'user',
        (o) => o.connection.user,
        (r) => (r.user === null ? {} : { user: r.user }),
      ),
    ],
    example: 'ops',
  },
  port: {
    flags: '-p, --port <n>',
    help: `SSH port for hosts that do not name one (default: ${DEFAULT_PORT})`,
    value: 'string',
    into: ['connection', 'port'],
    // null when not given: ssh_config's Port, then the default, apply per host.
    resolve: (v: string | undefined, flag: string): number | null =>
      v === undefined ? null : parseNumber(flag, v, DEFAULT_PORT, PORT),
    number: PORT,
    goes: ['connection'],
    record: (): readonly RecordSpec[] => [
      rec(
        'port',
        (o) => o.connection.port,
        (r) => restoreNumber(r.port, 'port'),
      ),
    ],
    example: '2222',
  },
  key: {
    flags: '-k, --key <file>',
    help: 'private key file; repeatable (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa)',
    value: 'strings',
    goes: ['connection', 'worker'],
    record: (): readonly RecordSpec[] => [
      rec(
        'keys',
        (o) => (o.connection.keysExplicit ? o.connection.keys : []),
        (r) => (r.keys_explicit && r.keys.length > 0 ? { key: r.keys } : {}),
      ),
      rec('keys_explicit', (o) => o.connection.keysExplicit),
    ],
    example: ['/etc/herd/id_ed25519'],
  },
  askPass: {
    flags: '--ask-pass',
    help: 'prompt for the login password on the terminal',
    value: 'flag',
    goes: ['worker'],
    displaces: ['passwordEnv'],
    example: true,
  },
  passwordEnv: {
    flags: '--password-env <var>',
    help: 'read the login password from this environment variable (never pass secrets on argv)',
    value: 'string',
    goes: ['worker'],
    displaces: ['askPass'],
    // One field for --ask-pass and --password-env: where the password came from, never the password.
    record: (): readonly RecordSpec[] => [
      rec(
        'password_source',
        (o) => recordedSource(o.connection.passwordSource),
        (r) => restoredSource(r.password_source, 'askPass', 'passwordEnv'),
      ),
    ],
    example: 'HERD_PASS',
  },
  keyPassphraseEnv: {
    flags: '--key-passphrase-env <var>',
    help: 'read the passphrase of encrypted private keys from this environment variable',
    value: 'string',
    goes: ['worker'],
    displaces: ['askKeyPassphrase'],
    record: (): readonly RecordSpec[] => [
      rec(
        'key_passphrase_source',
        (o) => recordedSource(o.connection.keyPassphraseSource),
        (r) => restoredSource(r.key_passphrase_source, 'askKeyPassphrase', 'keyPassphraseEnv'),
      ),
    ],
    example: 'KEY_PASS',
  },
  askKeyPassphrase: {
    flags: '--ask-key-passphrase',
    help: 'prompt for the passphrase of encrypted private keys on the terminal',
    value: 'flag',
    goes: ['worker'],
    displaces: ['keyPassphraseEnv'],
    example: true,
  },
  knownHosts: {
    flags: '--known-hosts <file>',
    help:
      'the user known_hosts file, as ssh -o UserKnownHostsFile=FILE: checked and recorded into ' +
      '(default: ~/.ssh/known_hosts ~/.ssh/known_hosts2; global files are read too)',
    value: 'string',
    into: ['connection', 'knownHostsPath'],
    resolve: (v: string | undefined): string => path.resolve(v ?? defaultKnownHostsPath()),
    goes: ['connection'],
    record: (): readonly RecordSpec[] => [
      rec(
        'known_hosts',
        (o) => (o.connection.explicit.knownHosts ? o.connection.knownHostsPath : null),
        (r) => (r.known_hosts !== null ? { knownHosts: r.known_hosts } : {}),
      ),
    ],
    example: '/etc/herd/known_hosts',
  },
  strictHostKeys: {
    flags: '--strict-host-keys',
    help: 'refuse hosts whose key is not already in known_hosts',
    value: 'flag',
    goes: ['connection', 'worker'],
    displaces: ['hostKeyChecking'],
    example: true,
  },
  hostKeyChecking: {
    flags: '--host-key-checking <mode>',
    help: 'host key policy',
    value: 'string',
    choices: ['accept-new', 'strict', 'off'],
    goes: ['connection', 'worker'],
    // One field for --strict-host-keys and --host-key-checking.
    record: (): readonly RecordSpec[] => [
      rec(
        'host_key_mode',
        (o) => o.connection.hostKeyMode,
        // A mode that came from ssh_config is not replayed as a flag: that would override the file (strict ->
        // accept-new).
        (r) => (r.host_key_mode_explicit === false ? {} : { hostKeyChecking: r.host_key_mode }),
      ),
      rec('host_key_mode_explicit', (o) => o.connection.explicit.hostKeyMode),
    ],
    example: 'off',
  },
  connectTimeout: {
    flags: '--connect-timeout <s>',
    help: `seconds for TCP connect, banner, key exchange and auth (default: ${DEFAULT_CONNECT_TIMEOUT_S})`,
    value: 'string',
    into: ['connection', 'connectTimeoutS'],
    number: { default: DEFAULT_CONNECT_TIMEOUT_S, min: 0.1 },
    goes: ['connection', 'worker'],
    record: (): readonly RecordSpec[] => [
      rec(
        'connect_timeout_s',
        (o) => o.connection.connectTimeoutS,
        // A default is not replayed as a flag: that would override ssh_config's ConnectTimeout on the rerun.
        (r) => (r.connect_timeout_explicit === false ? {} : restoreNumber(r.connect_timeout_s, 'connectTimeout')),
      ),
      rec('connect_timeout_explicit', (o) => o.connection.explicit.connectTimeout),
    ],
    example: '2.5',
  },
  connectRetries: {
    flags: '--connect-retries <n>',
    help: `retries after a transient handshake failure (reset, dropped by sshd MaxStartups), with jittered backoff, for targets and jump hosts; never once a command started (default: ${DEFAULT_CONNECT_RETRIES})`,
    value: 'string',
    into: ['connection', 'connectRetries'],
    number: { default: DEFAULT_CONNECT_RETRIES, min: 0, max: 20, integer: true },
    goes: ['worker'],
    record: (): readonly RecordSpec[] => [
      rec(
        'connect_retries',
        (o) => o.connection.connectRetries,
        // As connect_timeout_s: a default replayed as a flag would override ssh_config's ConnectionAttempts.
        (r) => (r.connect_retries_explicit === false ? {} : restoreNumber(r.connect_retries, 'connectRetries')),
      ),
      rec('connect_retries_explicit', (o) => o.connection.explicit.connectRetries),
    ],
    example: '5',
  },
  connectRate: {
    flags: '--connect-rate <n>',
    help: `new connections started per second, across workers; 0 = unpaced (default: ${DEFAULT_CONNECT_RATE})`,
    value: 'string',
    into: ['connection', 'connectRate'],
    number: { default: DEFAULT_CONNECT_RATE, min: 0 },
    goes: ['worker'],
    record: (): readonly RecordSpec[] => [
      rec(
        'connect_rate',
        (o) => o.connection.connectRate,
        (r) => restoreNumber(r.connect_rate, 'connectRate'),
      ),
    ],
    example: '0',
  },

  // The worker pool, the run directory and the display
  forks: {
    flags: '-f, --forks <n>',
    help: `total concurrent SSH sessions (default: ${DEFAULT_FORKS})`,
    value: 'string',
    into: ['run', 'forks'],
    number: { default: DEFAULT_FORKS, min: 1, integer: true },
    goes: ['session'],
    // The forks the run used: after fitting ulimit -n.
    record: (): readonly RecordSpec[] => [
      rec(
        'forks',
        (_o, ctx) => ctx.forks,
        (r) => restoreNumber(r.forks, 'forks'),
      ),
    ],
    example: '7',
  },
  workers: {
    flags: '-w, --workers <n>',
    help:
      `worker processes; 0: none, herd's own process works on every host (default: one per ${HOSTS_PER_WORKER} ` +
      `hosts, at most the number of CPUs, here ${defaultWorkers()}; none for fewer hosts, but one for push and pull)`,
    value: 'string',
    into: ['run', 'workers'],
    number: { default: defaultWorkers, min: 0, max: 256, integer: true },
    goes: ['session'],
    record: (): readonly RecordSpec[] => [
      rec(
        'workers',
        (o) => o.run.workers,
        // A count herd picked for the run's size is not replayed: the rerun's own size picks again.
        (r) => (r.workers_explicit === false ? {} : restoreNumber(r.workers, 'workers')),
      ),
      rec('workers_explicit', (o) => o.run.workersExplicit),
    ],
    example: '3',
  },
  maxHandshakes: {
    flags: '--max-handshakes <n>',
    help: `SSH handshakes in progress at once, across workers (default: ${DEFAULT_MAX_HANDSHAKES})`,
    value: 'string',
    into: ['run', 'maxHandshakes'],
    number: { default: DEFAULT_MAX_HANDSHAKES, min: 1, integer: true },
    goes: ['session'],
    record: (): readonly RecordSpec[] => [
      rec(
        'max_handshakes',
        (o) => o.run.maxHandshakes,
        (r) => restoreNumber(r.max_handshakes, 'maxHandshakes'),
      ),
    ],
    example: '5',
  },
  close: {
    flags: '--close',
    help: 'close every held connection and end the keepers',
    value: 'flag',
    goes: ['keeper'],
    example: true,
  },
  persist: {
    flags: '--persist <duration>',
    help: 'leave a connection keeper running after the command: later herd commands with the same credentials reuse its connections until it has been idle this long (90s, 10m, 1h)',
    value: 'string',
    into: ['run', 'persistMs'],
    resolve: (v: string | undefined, flag: string): number | null => (v === undefined ? null : parseDuration(flag, v)),
    goes: ['session'],
    example: '10m',
  },
  deadline: {
    flags: '--deadline <s>',
    help: 'whole-run limit in seconds: then start nothing new and stop running work (status timeout) (default: none)',
    value: 'string',
    into: ['run', 'deadlineS'],
    number: { default: 0, min: 0 },
    goes: ['session'],
    // Recorded for the audit, not restored: a rerun gets its own time budget.
    record: (): readonly RecordSpec[] => [rec('deadline_s', (o) => o.run.deadlineS)],
    example: '30',
  },
  grace: {
    flags: '--grace <s>',
    help: `after the first Ctrl-C, seconds running work gets to finish (default: ${DEFAULT_GRACE_S})`,
    value: 'string',
    into: ['run', 'graceS'],
    number: { default: DEFAULT_GRACE_S, min: 0 },
    goes: ['session'],
    example: '2',
  },
  out: {
    flags: '-o, --out <dir>',
    help: `directory for run directories (default: ./${DEFAULT_OUT_DIR})`,
    on: {
      runs: { help: `directory holding run directories (default: ./${DEFAULT_OUT_DIR})` },
      show: { help: `directory holding run directories (default: ./${DEFAULT_OUT_DIR})` },
      diff: { help: `directory holding run directories (default: ./${DEFAULT_OUT_DIR})` },
      merge: {
        flags: '-o, --out <run_dir>',
        help: `the merged run directory to create (default: a new run in ./${DEFAULT_OUT_DIR}, then latest)`,
      },
    },
    value: 'string',
    into: ['run', 'outDir'],
    resolve: (v: string | undefined): string => path.resolve(v ?? DEFAULT_OUT_DIR),
    goes: ['session', 'past-run'],
    example: 'elsewhere',
  },
  quiet: {
    flags: '-q, --quiet',
    help: 'print only the final summary',
    value: 'flag',
    into: ['run', 'quiet'],
    goes: ['display'],
    example: true,
  },
  json: {
    flags: '--json',
    help: 'newline-delimited JSON events on stdout (run_start, host_start, output, step_done, host_done, run_done); the human display goes to stderr',
    on: {
      hosts: { help: 'one JSON object per host' },
      runs: { help: 'one JSON object per run' },
      show: { help: 'host_done events (and run_done), or output events with --host' },
      diff: { help: 'one JSON object per distinct output (variant), the reference first' },
      connections: { help: 'one JSON object per keeper' },
    },
    value: 'flag',
    into: ['run', 'json'],
    goes: ['display', 'past-run'],
    example: true,
  },
  progress: {
    flags: '--no-progress',
    help: 'no live progress line',
    value: 'negated',
    goes: ['display'],
    example: false,
  },

  // Commands that run remote commands and keep their output (run, play, rerun)
  idleTimeout: {
    flags: '--idle-timeout <s>',
    help: 'stop a command that prints nothing for this many seconds; the remote command is killed (default: none)',
    value: 'string',
    into: ['run', 'idleTimeoutS'],
    number: { default: 0, min: 0 },
    goes: ['worker'],
    rerunKinds: ['command', 'playbook'],
    record: (): readonly RecordSpec[] => [
      rec(
        'idle_timeout_s',
        (o) => o.run.idleTimeoutS,
        (r) => (r.idle_timeout_s ? { idleTimeout: String(r.idle_timeout_s) } : {}),
      ),
    ],
    example: '4',
  },
  maxOutput: {
    flags: '--max-output <size>',
    help: 'stdout+stderr kept per host, e.g. 512K, 10M, 1G; the rest is dropped with a note (default: no cap)',
    value: 'string',
    into: ['run', 'maxOutputBytes'],
    // Bytes kept per host; 0 = no cap.
    resolve: (v: string | undefined, flag: string): number => parseSize(flag, v),
    goes: ['worker'],
    rerunKinds: ['command', 'playbook'],
    record: (): readonly RecordSpec[] => [
      rec(
        'max_output_bytes',
        (o) => o.run.maxOutputBytes,
        (r) => (r.max_output_bytes ? { maxOutput: String(r.max_output_bytes) } : {}),
      ),
    ],
    example: '512K',
  },
  stream: {
    flags: '--stream',
    help: 'print every output line as it arrives, as host: line',
    value: 'flag',
    into: ['run', 'stream'],
    goes: ['display'],
    rerunKinds: ['command', 'playbook'],
    example: true,
  },
  color: {
    flags: '--no-color',
    help: 'no colours in --stream output (also: NO_COLOR=1)',
    value: 'negated',
    into: ['run', 'colour'],
    goes: ['display'],
    rerunKinds: ['command', 'playbook'],
    example: false,
  },

  // One ad-hoc command (run, and rerun of a command run); playbook steps carry their own timeout.
  timeout: {
    flags: '--timeout <s>',
    help: 'per-command timeout in seconds; the remote command is killed (default: none)',
    value: 'string',
    into: ['run', 'timeoutS'],
    number: { default: DEFAULT_COMMAND_TIMEOUT_S, min: 0 },
    // Recorded with the task (task.timeout_s), which rerun repeats unless --timeout is given.
    goes: ['task'],
    rerunKinds: ['command'],
    example: '9',
  },
  group: {
    flags: '--no-group',
    help: 'do not show hosts grouped by identical output at the end',
    value: 'negated',
    goes: ['display'],
    rerunKinds: ['command'],
    example: false,
  },
} as const satisfies Record<string, OptionRow>;

export type OptionKey = keyof typeof OPTIONS;

type RawValue<R> = R extends { value: 'strings' }
  ? string[]
  : R extends { value: 'flag' | 'negated' }
    ? boolean
    : R extends { choices: readonly (infer C)[] }
      ? C
      : string;

/** Values as commander hands them over, keyed by commander's attribute name; derived from OPTIONS. */
export type RawOptions = { -readonly [K in OptionKey]?: RawValue<(typeof OPTIONS)[K]> };

const row = (key: OptionKey): OptionRow => OPTIONS[key];

type Rows = typeof OPTIONS;

/** A row's resolved value: what its resolve returns, else by its kind (as resolveRow). */
export type ResolvedValue<R> = R extends { resolve: (value: never, flag: string) => infer T }
  ? T
  : R extends { number: NumberSpec }
    ? number
    : R extends { value: 'flag' | 'negated' }
      ? boolean
      : R extends { value: 'strings' }
        ? string[]
        : RawValue<R> | null;

/** The plain rows: each alone sets one field of a resolved record. */
export type PlainKey = { [K in OptionKey]: Rows[K] extends { into: unknown } ? K : never }[OptionKey];

/** The fields of a resolved record that plain rows set, named by each row's `into`. */
export type PlainOptions<W extends 'connection' | 'run'> = {
  [K in PlainKey as Rows[K] extends { into: readonly [W, infer F extends string] } ? F : never]: ResolvedValue<Rows[K]>;
};

const numberDefault = (spec: NumberSpec): number =>
  typeof spec.default === 'function' ? spec.default() : spec.default;

/** One row's resolved value from its raw value (undefined: not given), its errors naming `flag`. */
function resolveRow(r: OptionRow, value: unknown, flag: string): unknown {
  if (r.resolve) return r.resolve(value as never, flag);
  if (r.number) return parseNumber(flag, value as string | undefined, numberDefault(r.number), r.number);
  switch (r.value) {
    case 'flag':
      return value === true;
    case 'negated':
      return value !== false;
    case 'string':
      return value ?? null;
    case 'strings':
      return value ?? [];
    default: {
      const kind: never = r.value;
      throw new Error(`unknown option kind ${String(kind)}`);
    }
  }
}

/** One plain option's resolved value. */
export function resolveOption<K extends PlainKey>(key: K, raw: RawOptions): ResolvedValue<Rows[K]> {
  return resolveRow(row(key), raw[key], flagOf(key)) as ResolvedValue<Rows[K]>;
}

/** Every field of a resolved record that plain rows set, in table order. */
export function resolvePlain<W extends 'connection' | 'run'>(raw: RawOptions, into: W): PlainOptions<W> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    const target = row(key).into;
    if (target?.[0] === into) out[target[1]] = resolveRow(row(key), raw[key], flagOf(key));
  }
  return out as PlainOptions<W>;
}

const INVENTORY = ['inventory', 'inventoryFormat', 'limit'] as const satisfies readonly OptionKey[];
/** One shard of a logical run: the commands that run on hosts, rerun too (a merged run rerun sharded again). */
const SHARD = ['shard', 'shardBy', 'shardCount', 'runGroup'] as const satisfies readonly OptionKey[];
const CONNECTION = [
  'sshConfig',
  'jump',
  'jumpSessions',
  'user',
  'port',
  'key',
  'askPass',
  'passwordEnv',
  'keyPassphraseEnv',
  'askKeyPassphrase',
  'knownHosts',
  'strictHostKeys',
  'hostKeyChecking',
  'connectTimeout',
  'connectRetries',
  'connectRate',
] as const satisfies readonly OptionKey[];
/** Every command that runs on hosts: the worker pool, the run directory and the display. */
const POOL = [
  'forks',
  'workers',
  'maxHandshakes',
  'deadline',
  'grace',
  'out',
  'quiet',
  'json',
  'progress',
] as const satisfies readonly OptionKey[];
const OUTPUT = ['idleTimeout', 'maxOutput', 'stream', 'color'] as const satisfies readonly OptionKey[];
const COMMAND = ['timeout', 'group'] as const satisfies readonly OptionKey[];
/** Commands whose connections a keeper may hold for the next ones (rerun uses one, but starts none). */
const PERSIST = ['persist'] as const satisfies readonly OptionKey[];
const BECOME = ['askBecomePass', 'becomePassEnv'] as const satisfies readonly OptionKey[];

/**
 * The options a file or a HERD_* variable may set: the defaults a team shares (everything run.json
 * records, the inventory, the run directory, ssh_config, timeouts, the display).
 */
export const CONFIGURABLE = [
  'inventory',
  'inventoryFormat',
  ...CONNECTION,
  // POOL but json, which changes what stdout is under the scripts that read it.
  'forks',
  'workers',
  'maxHandshakes',
  'deadline',
  'grace',
  'out',
  'quiet',
  'progress',
  ...OUTPUT,
  ...COMMAND,
  ...BECOME,
  ...PERSIST,
] as const satisfies readonly OptionKey[];

/**
 * The options each command takes, in help order. A command offers only the options it honours:
 * commander refuses the rest as unknown instead of accepting and ignoring them.
 */
export const COMMAND_OPTIONS: Record<CommandName, readonly OptionKey[]> = {
  run: [...INVENTORY, ...SHARD, ...CONNECTION, ...POOL, ...OUTPUT, ...COMMAND, ...PERSIST],
  push: ['times', 'checksum', 'delete', 'followLinks', ...INVENTORY, ...SHARD, ...CONNECTION, ...POOL, ...PERSIST],
  pull: ['times', 'checksum', 'delete', 'keepSpecialBits', ...INVENTORY, ...SHARD, ...CONNECTION, ...POOL, ...PERSIST],
  play: ['check', 'var', ...BECOME, ...INVENTORY, ...SHARD, ...CONNECTION, ...POOL, ...OUTPUT, ...PERSIST],
  hosts: ['json', 'vars', 'graph', ...INVENTORY, 'shard', 'shardBy', 'shardCount'],
  // Which earlier run a rerun repeats is known only once RUN is read: flags that do not apply to
  // its kind (rerunKinds) are refused then, before any host is contacted.
  rerun: [
    'includeInterrupted',
    'fromStart',
    'resumeUnguarded',
    'includeDiverged',
    ...BECOME,
    ...SHARD,
    ...CONNECTION,
    ...POOL,
    ...OUTPUT,
    ...COMMAND,
  ],
  runs: ['out', 'limit', 'json'],
  show: ['out', 'host', 'status', 'json', 'all'],
  report: ['output', 'runsDir'],
  diff: ['out', 'step', 'against', 'json'],
  merge: ['out'],
  // herd shell: one session of commands; no --deadline, --grace (Ctrl-C stops a command now), --json or sharding.
  shell: [...INVENTORY, ...CONNECTION, 'forks', 'workers', 'maxHandshakes', 'out', 'progress', ...OUTPUT, 'timeout'],
  connections: ['close', 'json'],
  // Every option a configuration file may set, to show it given here.
  config: [...CONFIGURABLE, 'json'],
};

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The commander option of one row, as one command shows it. */
export function commanderOption(key: OptionKey, command: CommandName): Option {
  const r = row(key);
  const option = new Option(r.on?.[command]?.flags ?? r.flags, r.on?.[command]?.help ?? r.help);
  if (r.value === 'strings') option.default([]).argParser(collect);
  if (r.choices) option.choices(r.choices);
  return option;
}

/** Add a command's options from the table; nothing else declares options. */
export function addOptions(cmd: Command, command: CommandName): Command {
  for (const key of COMMAND_OPTIONS[command]) cmd.addOption(commanderOption(key, command));
  return cmd;
}

/** The flag a user types for an option on a command, e.g. --forks (for messages). */
export function flagOf(key: OptionKey, command?: CommandName): string {
  const r = row(key);
  const o = new Option(command ? (r.on?.[command]?.flags ?? r.flags) : r.flags);
  return o.long ?? o.short!;
}

/** run.json's `options`: every recorded field, from the rows that record it. */
export function optionsRecord(o: Resolved, ctx: RecordContext): RunOptionsRecord {
  const out: Record<string, unknown> = { agent: ctx.agent };
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    for (const spec of row(key).record?.() ?? []) out[spec.field] = spec.write(o, ctx);
  }
  return out as unknown as RunOptionsRecord;
}

/** The raw flags that reproduce an earlier run's recorded options (rerun). */
export function restoreOptions(recorded: RunOptionsRecord): RawOptions {
  let raw: Restored = {};
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    for (const spec of row(key).record?.() ?? []) if (spec.restore) raw = { ...raw, ...spec.restore(recorded) };
  }
  return raw as RawOptions;
}

/**
 * The restored options overlaid by what this command line gave (rerun). `given` tells whether the
 * user gave an option (commander's value source); a given option displaces its alternatives.
 */
export function overlayGiven(restored: RawOptions, raw: RawOptions, given: (key: string) => boolean): RawOptions {
  const merged: Record<string, unknown> = { ...restored };
  for (const [key, value] of Object.entries(raw)) {
    if (!given(key)) continue;
    merged[key] = value;
    // The keys are option names from the table's `displaces` lists, not input.
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
    for (const other of (OPTIONS as Record<string, OptionRow>)[key]?.displaces ?? []) delete merged[other];
  }
  return merged as RawOptions;
}

/** The first option given for a kind of earlier run that does not honour it, with the refusal message. */
export function inapplicableToKind(kind: TaskKind, runId: string, given: (key: string) => boolean): string | null {
  for (const key of COMMAND_OPTIONS.rerun) {
    const r = row(key);
    if (!r.rerunKinds || r.rerunKinds.includes(kind) || !given(key)) continue;
    const only = r.rerunKinds.join(' and ');
    return `rerun: ${flagOf(key, 'rerun')} does not apply to run ${runId}, a ${kind} run (only to ${only} runs)${r.rerunHint ?? ''}`;
  }
  return null;
}

/** The rows that carry a number rule. */
export type NumberKey = { [K in OptionKey]: (typeof OPTIONS)[K] extends { number: NumberSpec } ? K : never }[OptionKey];

/** A number option's rule, from its row. */
export function numberSpec(key: NumberKey): NumberSpec {
  const spec = row(key).number;
  if (!spec) throw new Error(`${key} is not a number option`);
  return spec;
}

type Secrets = Pick<RunRequest['config'], 'password' | 'keyPassphrase' | 'agentSocket'>;

/** What every worker is told (engine/protocol.ts WorkerConfig), from the rows that go to 'worker'. */
export function workerConfig(o: Resolved, secrets: Secrets): RunRequest['config'] {
  return {
    connectTimeoutMs: Math.round(o.connection.connectTimeoutS * 1000),
    idleTimeoutMs: Math.round(o.run.idleTimeoutS * 1000),
    maxOutputBytes: o.run.maxOutputBytes,
    connectRetries: o.connection.connectRetries,
    connectRate: o.connection.connectRate,
    jumpSessions: o.connection.jumpSessions,
    hostKeyMode: o.connection.hostKeyMode,
    keyPaths: o.connection.keys,
    keysExplicit: o.connection.keysExplicit,
    ...secrets,
  };
}
