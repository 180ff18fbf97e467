// npm run fleet [start|stop|status]: the README tour's loopback fleet, left running in the background.
// It writes fleet/ in the current directory (npm runs scripts from the checkout's root): an inventory,
// an ssh_config that makes `herd run -F fleet/ssh_config -i fleet/inventory.txt uptime` work as typed,
// the login key, a known_hosts of its own, sshd's pid. `stop` ends that sshd by its pid and removes
// exactly what `start` created.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFleet } from './fleet.js';

const DIR = path.resolve('fleet');
const STATE = path.join(DIR, 'fleet.json');
const USAGE = 'usage: npm run fleet [-- start|stop|status]';

/** What `start` leaves behind, so `stop` can check the pid is still its sshd and remove only its own files. */
interface FleetState {
  pid: number;
  port: number;
  user: string;
  /** The fleet's private directory under the temp dir (host key, authorized_keys, sshd_config, sshd.log). */
  sshdDir: string;
  /** Files written into fleet/, removed by stop. */
  files: string[];
  /** Whether start made fleet/ itself (then stop removes it once it is empty). */
  createdDir: boolean;
}

const INVENTORY = `[web]
127.0.10.[1-8]

[db]
127.0.20.[1-4]

[storage]
127.0.30.[1-6]

[down]
127.0.0.1:1              # nothing listens on port 1: a host that refuses, so the tour has a failure to read
`;

function readState(): FleetState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(STATE, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as FleetState;
}

/** Is pid alive and still the sshd this fleet started (not a stranger that reused the pid)? */
function isOurSshd(state: FleetState): boolean {
  try {
    // sshd rewrites its title ("sshd: /usr/sbin/sshd -D -e -f DIR/sshd_config [listener] ..."): a substring, not argv.
    return fs
      .readFileSync(`/proc/${state.pid}/cmdline`, 'utf8')
      .includes(`-f ${path.join(state.sshdDir, 'sshd_config')}`);
  } catch {
    return false;
  }
}

/** An ssh_config value, quoted the way OpenSSH reads it when it holds a space. */
function configValue(value: string): string {
  return /\s/.test(value) ? `"${value}"` : value;
}

function shown(file: string): string {
  return path.relative(process.cwd(), file) || file;
}

async function start(): Promise<number> {
  const existing = readState();
  if (existing && isOurSshd(existing)) {
    process.stdout.write(
      `fleet: already running: sshd pid ${existing.pid} on port ${existing.port} (${shown(DIR)}/)\n`,
    );
    return 0;
  }
  if (existing) {
    process.stdout.write(`fleet: sshd pid ${existing.pid} is gone; removing what it left in ${shown(DIR)}/\n`);
    cleanUp(existing);
  }
  const createdDir = !fs.existsSync(DIR);
  fs.mkdirSync(DIR, { recursive: true });
  const fleet = await startFleet({ detached: true });
  const key = path.join(DIR, 'id_ed25519');
  const knownHosts = path.join(DIR, 'known_hosts');
  const inventory = path.join(DIR, 'inventory.txt');
  const sshConfig = path.join(DIR, 'ssh_config');
  const pidFile = path.join(DIR, 'sshd.pid');
  fs.copyFileSync(fleet.keyPath, key);
  fs.chmodSync(key, 0o600);
  fs.writeFileSync(knownHosts, '', { mode: 0o600 });
  const header = `# Written by \`npm run fleet\` (sshd pid ${fleet.pid}, port ${fleet.port}); \`npm run fleet -- stop\` removes it.\n`;
  const about = '# One sshd on 0.0.0.0 answers on every 127.x.y.z address: each line is a distinct host.\n';
  fs.writeFileSync(inventory, `${header}${about}\n${INVENTORY}`);
  fs.writeFileSync(
    sshConfig,
    [
      header.trimEnd(),
      'Host *',
      `  Port ${fleet.port}`,
      `  User ${fleet.user}`,
      `  IdentityFile ${configValue(key)}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${configValue(knownHosts)}`,
      '  StrictHostKeyChecking accept-new',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(pidFile, `${fleet.pid}\n`);
  const state: FleetState = {
    pid: fleet.pid,
    port: fleet.port,
    user: fleet.user,
    sshdDir: fleet.dir,
    files: [key, knownHosts, inventory, sshConfig, pidFile, STATE],
    createdDir,
  };
  fs.writeFileSync(STATE, JSON.stringify(state, null, 2) + '\n');
  const rel = shown(DIR);
  process.stdout.write(
    [
      `fleet: sshd pid ${fleet.pid} on port ${fleet.port}, user ${fleet.user}; every 127.x.y.z address is a host`,
      `  ${rel}/inventory.txt  19 hosts in groups web, db, storage, and one in [down] whose port refuses`,
      `  ${rel}/ssh_config     Port, User, IdentityFile and UserKnownHostsFile for them`,
      `try:  herd run -F ${rel}/ssh_config -i ${rel}/inventory.txt uptime`,
      'stop: npm run fleet -- stop',
      '',
    ].join('\n'),
  );
  return 0;
}

/** Remove what start created: its files in fleet/, fleet/ if start made it and it is now empty, sshd's own dir. */
function cleanUp(state: FleetState): void {
  for (const file of state.files) {
    // Only names inside fleet/: the state file is ours, but a hand-edited one must not aim rm elsewhere.
    if (path.dirname(file) === DIR) fs.rmSync(file, { force: true });
  }
  if (state.createdDir) {
    try {
      fs.rmdirSync(DIR);
    } catch {
      /* not empty: the user keeps what they put there */
    }
  }
  const sshdDir = path.resolve(state.sshdDir);
  if (path.dirname(sshdDir) === path.resolve(os.tmpdir()) && path.basename(sshdDir).startsWith('herd-fleet-')) {
    fs.rmSync(sshdDir, { recursive: true, force: true });
  }
}

async function stop(): Promise<number> {
  const state = readState();
  if (!state) {
    process.stdout.write(`fleet: not running (no ${shown(STATE)})\n`);
    return 0;
  }
  if (!isOurSshd(state)) {
    process.stdout.write(`fleet: sshd pid ${state.pid} was not running; removing what it left in ${shown(DIR)}/\n`);
    cleanUp(state);
    return 0;
  }
  // isOurSshd, not kill(pid, 0): the detached sshd's parent is gone, and where nobody reaps orphans its
  // zombie keeps the pid (with an empty cmdline) after it has stopped.
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (isOurSshd(state) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isOurSshd(state)) process.kill(state.pid, 'SIGKILL');
  while (isOurSshd(state)) await new Promise((r) => setTimeout(r, 50));
  cleanUp(state);
  process.stdout.write(`fleet: stopped sshd pid ${state.pid}; removed ${shown(DIR)}/\n`);
  return 0;
}

function status(): number {
  const state = readState();
  if (state && isOurSshd(state)) {
    process.stdout.write(
      `fleet: running: sshd pid ${state.pid} on port ${state.port}, user ${state.user} (${shown(DIR)}/)\n`,
    );
    return 0;
  }
  process.stdout.write(state ? `fleet: not running (sshd pid ${state.pid} is gone)\n` : 'fleet: not running\n');
  return 1;
}

const args = process.argv.slice(2);
const action = args[0] ?? 'start';
let code: number;
if (args.length > 1) {
  process.stderr.write(`fleet: one action expected, got ${args.length}\n${USAGE}\n`);
  code = 2;
} else if (action === 'start') code = await start();
else if (action === 'stop') code = await stop();
else if (action === 'status') code = status();
else {
  process.stderr.write(`fleet: unknown action "${action}"\n${USAGE}\n`);
  code = 2;
}
process.exitCode = code;
