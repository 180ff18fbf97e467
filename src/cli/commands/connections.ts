// herd connections: what the user's connection keepers (--persist) hold, by user; --close ends them.
import { alive, greet, readKeeperState } from '../../keeper/client.js';
import type { KeeperInfo } from '../../keeper/frames.js';
import { listKeeperFiles, privateKeeperDir, type KeeperFiles } from '../../keeper/paths.js';
import { foldHosts } from '../../report/fold.js';
import { plural } from '../../results/words.js';
import { writeText } from '../../report/terminal-safe.js';

/** How long a keeper asked to close may take to close its connections and leave. */
const CLOSE_WAIT_MS = 10_000;

export interface ConnectionsRaw {
  close?: boolean;
  json?: boolean;
}

export async function connectionsCommand(raw: ConnectionsRaw): Promise<number> {
  const dir = privateKeeperDir(false);
  const keepers = (dir === null ? [] : listKeeperFiles(dir)).filter((f) => readKeeperState(f) !== null);
  if (keepers.length === 0) {
    process.stderr.write('herd: no connection keeper is running (herd run --persist DURATION starts one)\n');
    return 0;
  }
  let failed = 0;
  for (const files of keepers) {
    const ok = raw.close ? await close(files, raw.json === true) : await show(files, raw.json === true);
    if (!ok) failed++;
  }
  return failed > 0 ? 1 : 0;
}

async function show(files: KeeperFiles, json: boolean): Promise<boolean> {
  const answer = await greet(files, (token) => ({ t: 'hello', token, pid: process.pid, want: 'info' }));
  answer?.socket.destroy();
  if (answer?.first.t !== 'info') {
    process.stderr.write(`herd: the connection keeper ${files.name} did not answer\n`);
    return false;
  }
  const info = answer.first.info;
  if (json) {
    process.stdout.write(JSON.stringify({ kind: 'keeper', ...info }) + '\n');
    return true;
  }
  writeText(process.stdout, describe(info).join('\n') + '\n');
  return true;
}

/** The keeper's first line, then its hosts by user and port. */
export function describe(info: KeeperInfo, now = Date.now()): string[] {
  const idle =
    info.idleSince === null
      ? 'in use by a command'
      : `idle ${duration(now - info.idleSince)} (closes after ${duration(info.idleMs)} idle)`;
  const lines = [
    `keeper ${info.pid}: ${plural(info.hosts.length, 'host')}, up ${duration(now - info.startedAt)}, ${idle}`,
  ];
  const byDestination = new Map<string, string[]>();
  for (const h of info.hosts) {
    const key = `${h.user}@ port ${h.port}`;
    byDestination.set(key, [...(byDestination.get(key) ?? []), h.host]);
  }
  for (const [key, hosts] of [...byDestination].sort(([a], [b]) => a.localeCompare(b))) {
    const [user, port] = key.split('@ port ');
    lines.push(`  ${user} port ${port}: ${plural(hosts.length, 'host')} ${foldHosts(hosts)}`);
  }
  return lines;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

async function close(files: KeeperFiles, json: boolean): Promise<boolean> {
  const pid = readKeeperState(files)?.pid;
  const answer = await greet(files, (token) => ({ t: 'hello', token, pid: process.pid, want: 'close' }));
  answer?.socket.destroy();
  if (answer?.first.t !== 'closing' || pid === undefined) {
    process.stderr.write(`herd: the connection keeper ${files.name} did not answer\n`);
    return false;
  }
  const deadline = Date.now() + CLOSE_WAIT_MS;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) {
    process.stderr.write(`herd: the connection keeper ${pid} did not leave within ${CLOSE_WAIT_MS / 1000}s\n`);
    return false;
  }
  if (json) process.stdout.write(JSON.stringify({ kind: 'keeper_closed', pid }) + '\n');
  else process.stderr.write(`closed the connection keeper ${pid} and its connections\n`);
  return true;
}
