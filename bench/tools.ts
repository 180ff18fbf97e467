// How each tool runs a command on a host list, given the same fleet, forks and key.
import fs from 'node:fs';
import path from 'node:path';

export interface BenchContext {
  root: string;
  /** The checkout whose bin/herd the herd rows run: this one, or --herd DIR's. */
  herdRoot: string;
  work: string;
  port: number;
  user: string;
  keyPath: string;
  hostsFile: string;
  hosts: string[];
  forks: number;
  /** `-o` options that make OpenSSH negotiate what herd does (bench/negotiated.ts). */
  algorithms: string[];
  /** ssh2-loop's bound on handshakes in flight (none when absent). */
  maxHandshakes?: number;
}

export interface Tool {
  name: string;
  /** The binary whose presence decides whether the tool runs. */
  binary: string;
  argv(ctx: BenchContext, command: string): string[];
  env?(ctx: BenchContext): NodeJS.ProcessEnv;
}

/** Transfer cases: `command` is `push SRC DEST` or `pull SRC DEST`. */
export interface TransferTool {
  name: string;
  binary: string;
  argv(ctx: BenchContext, direction: 'push' | 'pull', src: string, dest: string): string[];
}

/** herd on the bench fleet: its key and port, host keys not checked (as the peers), quiet, same forks. */
export function herdArgv(ctx: BenchContext, subcommand: string, ...rest: string[]): string[] {
  const connection = [
    '-i',
    ctx.hostsFile,
    '-u',
    ctx.user,
    '-p',
    String(ctx.port),
    '-k',
    ctx.keyPath,
    '--host-key-checking',
    'off',
  ];
  return [
    path.join(ctx.herdRoot, 'bin', 'herd'),
    subcommand,
    ...connection,
    '-f',
    String(ctx.forks),
    '-q',
    '-o',
    path.join(ctx.work, 'runs'),
    ...rest,
  ];
}

export const TRANSFER_TOOLS: TransferTool[] = [
  {
    name: 'herd',
    binary: process.execPath,
    argv: (ctx, direction, src, dest) => herdArgv(ctx, direction, '--no-times', src, dest),
  },
  {
    name: 'pssh',
    binary: '/usr/bin/parallel-slurp',
    argv: (ctx, direction, src, dest) => {
      // The same flags for both: hosts, parallelism, user, no timeout, ssh's own options.
      const common = ['-r', '-h', ctx.hostsFile, '-p', String(ctx.forks), '-l', ctx.user, '-t', '0'];
      const ssh = ['-x', sshOptions(ctx).join(' ').replace('-p ', '-P ')];
      return direction === 'pull'
        ? ['parallel-slurp', ...common, ...ssh, '-L', dest, src, 'tree']
        : // pscp cannot template a destination per host: all hosts write one shared folder.
          ['parallel-scp', ...common, ...ssh, src, dest.replace('{{ host }}', 'shared')];
    },
  },
];

/**
 * The playbook case: five commands, three of them behind guards that run on the host. Ansible
 * has no remote `when`, so each herd guard becomes a probe task (register) plus a conditional
 * task, which is how an Ansible user writes it; `creates` maps to the command module's own.
 */
const HERD_PLAYBOOK = `name: bench
steps:
  - name: kernel
    run: uname -r
    check: true
  - name: tmp is a directory
    run: test -d /tmp
    when: test -e /etc/hostname
  - name: say hello
    run: echo hello
    unless: test -e /nonexistent
  - name: stamp
    run: date +%s
    creates: /nonexistent/marker
  - name: hostname
    run: cat /etc/hostname
`;

const ANSIBLE_PLAYBOOK = `- hosts: all
  gather_facts: false
  tasks:
    - command: uname -r
    - command: test -e /etc/hostname
      register: g1
      failed_when: false
      changed_when: false
    - command: test -d /tmp
      when: g1.rc == 0
    - command: test -e /nonexistent
      register: g2
      failed_when: false
      changed_when: false
    - command: echo hello
      when: g2.rc != 0
    - command: date +%s
      args:
        creates: /nonexistent/marker
    - command: cat /etc/hostname
`;

/**
 * Two consensus gates in serial batches: 3 segments x 4 batches. A herd that opens a pool per
 * pass handshakes each host once per segment (3); one that keeps connections, once.
 */
const HERD_GATES_PLAYBOOK = `name: bench gates
serial: 25%
steps:
  - name: kernel
    run: uname -r
    check: true
    expect: { consensus: true }
  - name: say hello
    run: echo hello
  - name: os release
    run: cat /etc/os-release
    check: true
    expect: { consensus: true }
  - name: hostname
    run: cat /etc/hostname
`;

/** Which playbook a playbook case runs: five guarded steps, or two consensus gates in serial batches. */
export type PlaybookKind = 'guarded' | 'gates';

/** Playbook cases: each tool runs its own spelling of the same steps. */
export interface PlaybookTool {
  name: string;
  binary: string;
  argv(ctx: BenchContext, kind: PlaybookKind): string[];
  env?(ctx: BenchContext): NodeJS.ProcessEnv;
}

/** The bench inventory, forks, login and port, as both of Ansible's commands (ansible, ansible-playbook) take them. */
function ansibleTarget(ctx: BenchContext): string[] {
  return [
    '-i',
    ansibleInventory(ctx),
    '-f',
    String(ctx.forks),
    '-u',
    ctx.user,
    '--private-key',
    ctx.keyPath,
    '-e',
    `ansible_port=${ctx.port}`,
  ];
}

export function ansibleInventory(ctx: BenchContext): string {
  const inventory = path.join(ctx.work, 'ansible-hosts.ini');
  if (!fs.existsSync(inventory) || fs.readFileSync(inventory, 'utf8').split('\n').length - 2 !== ctx.hosts.length) {
    fs.writeFileSync(inventory, '[all]\n' + ctx.hosts.join('\n') + '\n');
  }
  return inventory;
}

/** Ansible at its fastest for this: pipelining, no fact gathering, no host key prompts. */
export const ANSIBLE_ENV = (ctx: BenchContext): NodeJS.ProcessEnv => ({
  ANSIBLE_HOST_KEY_CHECKING: 'False',
  ANSIBLE_PIPELINING: 'True',
  ANSIBLE_GATHERING: 'explicit',
  ANSIBLE_SSH_ARGS: ['-o ControlMaster=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR', ...ctx.algorithms].join(
    ' ',
  ),
  ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
  ANSIBLE_STDOUT_CALLBACK: 'oneline',
});

export const PLAYBOOK_TOOLS: PlaybookTool[] = [
  {
    name: 'herd',
    binary: process.execPath,
    argv: (ctx, kind) => {
      const file = path.join(ctx.work, `bench-play-${kind}.yml`);
      fs.writeFileSync(file, kind === 'gates' ? HERD_GATES_PLAYBOOK : HERD_PLAYBOOK);
      return herdArgv(ctx, 'play', file);
    },
  },
  {
    name: 'ansible',
    binary: '/usr/bin/ansible-playbook',
    argv: (ctx, kind) => {
      if (kind !== 'guarded') throw new Error(`no ansible spelling of the ${kind} playbook`);
      const file = path.join(ctx.work, 'bench-play-ansible.yml');
      fs.writeFileSync(file, ANSIBLE_PLAYBOOK);
      return ['ansible-playbook', ...ansibleTarget(ctx), file];
    },
    env: ANSIBLE_ENV,
  },
];

/** The label of the second herd build (--herd-before DIR), so the merger measures before/after in one run. */
export const HERD_BEFORE = 'herd (before)';

/** The same herd tool, run from another checkout's bin/herd (that checkout's own dist/). */
export function herdBuild<T extends { name: string; binary: string; argv: (...args: never[]) => string[] }>(
  tool: T,
  dir: string,
): T {
  const bin = path.join(path.resolve(dir), 'bin', 'herd');
  const argv = (...args: never[]): string[] => {
    const [, ...rest] = tool.argv(...args);
    return [bin, ...rest];
  };
  return { ...tool, name: HERD_BEFORE, binary: path.join(path.resolve(dir), 'dist', 'src', 'cli', 'main.js'), argv };
}

/** OpenSSH client options every peer gets: no host-key prompts, quiet, the fleet's key and port. */
export function sshOptions(ctx: BenchContext): string[] {
  return [
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'BatchMode=yes',
    '-p',
    String(ctx.port),
    '-i',
    ctx.keyPath,
    ...ctx.algorithms,
  ];
}

/** The row of a peer left to OpenSSH's default algorithms, apart from the same-crypto rows. */
export const PEER_DEFAULTS = 'pssh (OpenSSH defaults)';

/** parallel-ssh with the fleet's options, the given algorithms (herd's by default) and any extra `-o`s. */
export function pssh(ctx: BenchContext, command: string, algorithms = ctx.algorithms, extra: string[] = []): string[] {
  return [
    'parallel-ssh',
    '-h',
    ctx.hostsFile,
    '-p',
    String(ctx.forks),
    '-l',
    ctx.user,
    '-t',
    '0',
    '-x',
    [...sshOptions({ ...ctx, algorithms }), ...extra].join(' '),
    command,
  ];
}

/** `ansible all -m MODULE -a COMMAND` on the bench fleet, with its forks, user, key and port. */
export function ansibleAdHoc(ctx: BenchContext, module: string, command: string): string[] {
  return ['ansible', 'all', ...ansibleTarget(ctx), '-m', module, '-a', command];
}

export const TOOLS: Tool[] = [
  {
    name: 'herd',
    binary: process.execPath,
    argv: (ctx, command) => herdArgv(ctx, 'run', command),
  },
  {
    // The SSH library alone (connect, exec, close in one process): herd's controller CPU per host is held to it.
    name: 'ssh2-loop',
    binary: process.execPath,
    argv: (ctx, command) => [
      process.execPath,
      path.join(ctx.root, 'dist', 'bench', 'ssh2-loop.js'),
      ctx.hostsFile,
      String(ctx.port),
      ctx.user,
      ctx.keyPath,
      String(ctx.forks),
      command,
      ...(ctx.maxHandshakes === undefined ? [] : [String(ctx.maxHandshakes)]),
    ],
  },
  {
    name: 'pssh',
    binary: '/usr/bin/parallel-ssh',
    argv: (ctx, command) => pssh(ctx, command),
  },
  {
    // Plain OpenSSH, the small case's yardstick: one ssh, or one per host in parallel from a shell loop.
    name: 'ssh',
    binary: '/usr/bin/ssh',
    argv: (ctx, command) => {
      const ssh = ['ssh', ...sshOptions(ctx), '-l', ctx.user];
      if (ctx.hosts.length === 1) return [...ssh, ctx.hosts[0]!, command];
      const loop =
        'c=$1; shift; n=$1; shift; for h in "${@:1:$n}"; do "${@:$((n+1))}" "$h" "$c" & done; rc=0; ' +
        'for j in $(jobs -p); do wait "$j" || rc=1; done; exit $rc';
      return ['bash', '-c', loop, 'ssh-loop', command, String(ctx.hosts.length), ...ctx.hosts, ...ssh];
    },
  },
  {
    name: 'pdsh',
    binary: '/usr/bin/pdsh',
    argv: (ctx, command) => [
      'pdsh',
      '-R',
      'ssh',
      '-f',
      String(ctx.forks),
      '-w',
      `^${ctx.hostsFile}`,
      '-l',
      ctx.user,
      command,
    ],
    env: (ctx) => ({ PDSH_SSH_ARGS: `${sshOptions(ctx).join(' ')} -l%u %h` }),
  },
  {
    name: 'clush',
    binary: '/usr/bin/clush',
    argv: (ctx, command) => [
      'clush',
      '-f',
      String(ctx.forks),
      '--hostfile',
      ctx.hostsFile,
      '-l',
      ctx.user,
      '-o',
      sshOptions(ctx).join(' '),
      '-t',
      '30',
      '-u',
      '600',
      command,
    ],
  },
  {
    name: 'ansible',
    binary: '/usr/bin/ansible',
    argv: (ctx, command) => ansibleAdHoc(ctx, 'command', command),
    env: ANSIBLE_ENV,
  },
  {
    // What a pssh user gets out of the box: OpenSSH negotiates its own defaults (sntrup761x25519 today).
    name: PEER_DEFAULTS,
    binary: '/usr/bin/parallel-ssh',
    argv: (ctx, command) => pssh(ctx, command, []),
  },
];
