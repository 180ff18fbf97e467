// npm run demo: start a loopback fleet of real sshd "hosts", run herd against inventories/loopback.txt,
// show the result files, rerun the hosts that failed, and stop the fleet.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFleet } from './fleet.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const herd = path.join(root, 'bin', 'herd');

function say(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

function show(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  process.stdout.write(`$ ${[cmd, ...args].map((a) => (/[\s'$|;]/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env, cwd: work });
  return r.status ?? 1;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-demo-'));
const fleet = await startFleet();
const stop = async (): Promise<void> => {
  await fleet.stop();
};
process.on('SIGINT', () => void stop().then(() => process.exit(130)));

try {
  const inventory = path.join(root, 'inventories', 'loopback.txt');
  const conn = ['-u', fleet.user, '-p', String(fleet.port), '-k', fleet.keyPath, '--known-hosts', path.join(work, 'known_hosts'), '-o', path.join(work, 'runs')];
  const env = { ...process.env, HOME: work };
  say(`a loopback fleet: sshd pid ${fleet.pid} on port ${fleet.port}; every 127.x.y.z address is a host`);
  show(herd, ['hosts', '-i', inventory, '-l', 'web,db']);

  say('run a command on the whole inventory');
  show(herd, ['run', '-i', inventory, ...conn, 'echo "$(hostname) answers on $(echo $SSH_CONNECTION | cut -d" " -f3)"'], env);
  const runs = path.join(work, 'runs');
  show('ls', ['-l', path.join(runs, 'latest/')]);
  show('head', ['-5', path.join(runs, 'latest', 'hosts.tsv')]);
  show('head', ['-3', path.join(runs, 'latest', 'output.log')]);

  say('a command that fails on the db group: failed.txt lists them, rerun takes only them');
  const flag = path.join(work, 'db-broken');
  fs.writeFileSync(flag, '');
  fs.chmodSync(work, 0o755);
  fs.chmodSync(flag, 0o666);
  const check = `case $(echo $SSH_CONNECTION | cut -d" " -f3) in 127.0.20.*) test ! -e ${flag};; esac && echo healthy`;
  show(herd, ['run', '-i', inventory, ...conn, check], env);
  show('cat', [path.join(runs, 'latest', 'failed.txt')]);
  show('awk', ['-F\t', '$2 != "ok" {print $1, $2, $5}', path.join(runs, 'latest', 'hosts.tsv')]);
  fs.unlinkSync(flag);
  say('the db hosts are fixed; herd rerun runs the same command on exactly the failed hosts');
  show(herd, ['rerun', '-o', runs], env);
  show('cat', [path.join(runs, 'latest', 'run.json')]);

  say('a playbook: inspect first (--check changes nothing), then act; a second run repeats nothing');
  const disks = path.join(root, 'playbooks', 'data-disks.yml');
  show(herd, ['play', '-i', inventory, '-l', 'storage', ...conn, '--check', disks], env);
  show(herd, ['play', '-i', inventory, '-l', 'storage', ...conn, disks], env);
  show('column', ['-t', '-s', '\t', path.join(runs, 'latest', 'steps.tsv')]);
  show(herd, ['play', '-i', inventory, '-l', 'storage', ...conn, '-q', disks], env);
  show('awk', ['-F\t', 'NR > 1 {print $2, $4}', path.join(runs, 'latest', 'steps.tsv')]);

  say('deploy a directory, then collect it back into collected/<host>/');
  show(herd, ['play', '-i', inventory, '-l', 'web', ...conn, path.join(root, 'playbooks', 'deploy.yml')], env);
  show(herd, ['play', '-i', inventory, '-l', 'web', ...conn, path.join(root, 'playbooks', 'collect-logs.yml')], env);
  show('find', ['collected', '-maxdepth', '2']);
} finally {
  for (const f of fs.readdirSync('/tmp')) if (f.startsWith('herd-demo-')) fs.rmSync(path.join('/tmp', f), { recursive: true, force: true });
  say('stopping the fleet');
  await stop();
  fs.rmSync(work, { recursive: true, force: true });
}
