// npm run demo: herd's story on a loopback fleet of real sshd "hosts", section by section, each showing
// the commands an operator would type and what they would see. It starts its own sshd and works in its
// own scratch directory (the hosts write there too); its clean-up stops that sshd by pid and removes
// that directory, nothing else. It exits 1 if any command did not end the way the story says.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFleet } from './fleet.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const herd = path.join(root, 'bin', 'herd');
const bold = (text: string): string =>
  process.stdout.isTTY && !process.env['NO_COLOR'] ? `\x1b[1m${text}\x1b[0m` : text;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-demo-'));
fs.chmodSync(work, 0o755);
// What the "hosts" write (disks, mounts, fstabs, pushed trees) stays inside the demo's own directory.
const D = path.join(work, 'hosts');
fs.mkdirSync(D);
fs.chmodSync(D, 0o1777);
const fleet = await startFleet().catch((err: unknown) => {
  fs.rmSync(work, { recursive: true, force: true });
  throw err;
});

// One stand-in for lsblk, keyed on the address the host answers on: two storage hosts have their
// system disk on sdm, the seed's lesson. The same text serves `herd run` and the playbook's -e.
const LSBLK =
  `case $(echo $SSH_CONNECTION | cut -d' ' -f3) in 127.0.30.[56]) echo 'sdb disk 2T'; echo 'sdm disk 100G /';; ` +
  `*) echo 'sda disk 100G /'; echo 'sdb disk 2T';; esac`;

let section = 0;
let surprises = 0;

function say(text: string): void {
  process.stdout.write(`\n${bold(`== ${++section}. ${text}`)}\n`);
}

function note(text: string): void {
  process.stdout.write(`# ${text}\n`);
}

// Long values the story names once (`note`) and then shows as shell variables in the commands.
const named: [string, string][] = [];

/** The command as the operator would type it, with the named values shown as "$NAME". */
function display(cmd: string, args: string[]): string {
  const word = (a: string): string => {
    let short = a;
    for (const [name, value] of named) short = short.split(value).join(`$${name}`);
    const plain = /^[\w./@%:,=+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
    if (short === a) return plain;
    // Inside double quotes only our own $NAMEs may expand; anything else the shell would touch is shown as is.
    const rest = named.reduce((t, [name]) => t.split(`$${name}`).join(''), short);
    return /[$`"\\!]/.test(rest) ? plain : `"${short}"`;
  };
  return [cmd === herd ? 'herd' : cmd, ...args.map(word)].join(' ');
}

/** Name a value for the commands that follow, and say what it holds. */
function define(name: string, value: string, what: string): string {
  named.push([name, value]);
  note(`${what}: ${name}=${/^[\w./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`}`);
  return value;
}

const env: NodeJS.ProcessEnv = { ...process.env, HOME: work };
delete env['SSH_AUTH_SOCK'];

/** Run a command in the demo's directory, output straight to the terminal; note it if the exit code is not `expect`. */
function show(cmd: string, args: string[], expect = 0): number {
  process.stdout.write(`$ ${display(cmd, args)}\n`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env, cwd: work });
  const code = r.status ?? 128;
  if (code !== expect) {
    surprises++;
    process.stdout.write(`demo: expected exit ${expect}, got ${r.status ?? r.signal}\n`);
  }
  return code;
}

const conn = ['-F', 'ssh_config', '-i', 'fleet.txt'];
const play = (...args: string[]): string[] => [
  'play',
  ...conn,
  '-l',
  'storage',
  '-e',
  `lsblk=${LSBLK}`,
  '-e',
  `dev=${D}/{{ host }}.disk`,
  '-e',
  `mnt=${D}/{{ host }}.mnt`,
  '-e',
  `fstab=${D}/{{ host }}.fstab`,
  ...args,
  'playbooks/data-disks.yml',
];

let cleaned = false;
async function cleanUp(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  await fleet.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
// `npm run demo | head` closes the pipe early: keep going quietly so the clean-up still runs.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

try {
  fs.writeFileSync(
    path.join(work, 'fleet.txt'),
    [
      '[web]',
      '127.0.10.[1-4]',
      '',
      '[db]',
      '127.0.20.[1-2]',
      '',
      '[storage]',
      '127.0.30.[1-6]',
      '',
      '[trouble]',
      '127.0.0.1:1                   # nothing listens on port 1',
      'herd-no-such-user@127.0.40.1  # no such login',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(work, 'ssh_config'),
    [
      'Host *',
      `  Port ${fleet.port}`,
      `  User ${fleet.user}`,
      `  IdentityFile ${fleet.keyPath}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${path.join(work, 'known_hosts')}`,
      '',
    ].join('\n'),
  );
  fs.symlinkSync(path.join(root, 'playbooks'), path.join(work, 'playbooks'));

  say('A fleet: 12 hosts, one port that refuses, one login that does not exist');
  note(`one real sshd (pid ${fleet.pid}, port ${fleet.port}) answers on every 127.x.y.z address; working in ${work}`);
  show('cat', ['fleet.txt']);
  show(herd, ['hosts', '-i', 'fleet.txt', '-l', 'db,trouble']);

  say('Run a command everywhere: one group per distinct output, failures grouped by reason');
  show(herd, ['run', ...conn, 'uname -s'], 1);

  say('Results made for grep and awk; failed.txt is itself an inventory');
  show('ls', ['runs/latest/']);
  show('cat', ['runs/latest/failed.txt']);
  show('awk', ['-F\\t', '$2 != "ok" {print $1, $2, $5}', 'runs/latest/hosts.tsv']);

  say('A check fails on the db hosts; once they are fixed, herd rerun takes exactly failed.txt');
  const broken = path.join(D, 'db-broken');
  fs.writeFileSync(broken, '');
  const check = `case $(echo $SSH_CONNECTION | cut -d' ' -f3) in 127.0.20.*) test ! -e ${broken};; esac`;
  show(herd, ['run', ...conn, '-q', define('CHECK', check, 'a stand-in health check that fails on the db hosts')], 1);
  show('cat', ['runs/latest/failed.txt']);
  fs.unlinkSync(broken);
  note('the db hosts are fixed; the two troubled hosts still cannot be reached, and rerun says so');
  show(herd, ['rerun', '-q'], 1);

  say('Look before you act: which hosts differ? (herd show, herd diff)');
  define('LSBLK', LSBLK, 'a stand-in for lsblk, keyed on the address');
  show(herd, ['run', ...conn, '-l', 'storage', '-q', LSBLK]);
  show(herd, ['show']);
  show(herd, ['diff'], 1);

  say('A consensus gate holds back the two hosts whose disk layout differs (playbooks/data-disks.yml)');
  define('D', D, 'where the stand-in disks, mounts and fstabs live');
  note('--check: only the inspection and the guards run; nothing changes');
  show(herd, play('--check', '-q'), 1);
  show('sh', ['-c', 'tail -n +2 runs/latest/steps.tsv | cut -f4 | sort | uniq -c']);
  note('for real: the two sdm hosts are diverged, the others format, mount and add one fstab line');
  show(herd, play('-q'), 1);
  show('awk', ['-F\\t', 'NR > 1 {print $2, $3, $1}', 'runs/latest/hosts.tsv']);
  note('again: every guard says it is done; nothing is repeated, each fstab still has one line');
  show(herd, play('-q'), 1);
  show('sh', ['-c', `tail -n +2 runs/latest/steps.tsv | cut -f2,4 | sort | uniq -c; wc -l ${D}/*.fstab`]);

  say('Push a tree to the web hosts, pull it back into collected/<host>/');
  show(herd, ['push', ...conn, '-l', 'web', '-q', 'playbooks/files/app/', `${D}/{{ host }}-app`]);
  show('sh', ['-c', 'tail -n +2 runs/latest/transfers.tsv | cut -f4 | sort | uniq -c']);
  show(herd, ['pull', ...conn, '-l', 'web', '-q', `${D}/{{ host }}-app`, 'collected']);
  show('sh', ['-c', 'find collected -type f | sort | head -6; find collected -type f | wc -l']);

  say('Ctrl-C: nothing new starts, running commands get --grace seconds, every result file is complete');
  await interrupt();
  show('sh', ['-c', 'tail -n +2 runs/latest/hosts.tsv | cut -f2 | sort | uniq -c']);
} finally {
  say("Clean-up: stop this demo's sshd by pid and remove its directory");
  await cleanUp();
  note(`sshd ${fleet.pid} stopped; ${work} removed`);
}
if (surprises > 0) {
  process.stdout.write(`demo: ${surprises} command(s) did not end as the story says\n`);
  process.exitCode = 1;
}

/** herd run of a slow command on 8 hosts, 4 at a time; SIGINT to herd's pid once 4 are running. */
async function interrupt(): Promise<void> {
  const args = ['run', ...conn, '-l', 'web,storage', '-f', '4', '--grace', '1', 'sleep 30'];
  process.stdout.write(`$ ${display(herd, args)}\n`);
  const child = spawn(herd, args, { stdio: ['ignore', 'inherit', 'inherit'], env, cwd: work });
  const journal = path.join(work, 'runs', 'latest', 'journal.ndjson');
  const before = fs.realpathSync(path.join(work, 'runs', 'latest'));
  const deadline = Date.now() + 20_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const fresh = fs.existsSync(journal) && fs.realpathSync(path.join(work, 'runs', 'latest')) !== before;
    if (fresh && (fs.readFileSync(journal, 'utf8').match(/"host_running"/g) ?? []).length >= 4) break;
    if (Date.now() > deadline || child.exitCode !== null) break;
  }
  process.stdout.write(`^C   (the demo sends SIGINT to herd, pid ${child.pid})\n`);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  note(`herd exited ${code}`);
  if (code !== 130) {
    surprises++;
    process.stdout.write(`demo: expected exit 130, got ${code}\n`);
  }
}
