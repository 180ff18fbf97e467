// The fault-injection suite's network and daemon faults in one mixed run: each broken host ends
// with its exact status and reason within its timeout, and the good hosts never notice.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canCreateNetns, createNetns, type Netns } from '../fleet/netns.js';
import { readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();
const withNetns = canCreateNetns();
let ns: Netns | undefined;
afterAll(() => ns?.remove());

/** Parent pid of a process (Linux /proc). */
function ppidOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The sshd processes serving the process `pid` (monitor and session), up to the fleet's listening sshd. */
function sessionSshds(pid: number, fleetPid: number): number[] {
  const found: number[] = [];
  for (let p = ppidOf(pid); p > 1 && p !== fleetPid; p = ppidOf(p)) {
    if (fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim().startsWith('sshd')) found.push(p);
  }
  return found;
}

/** Processes whose whole command line is `args` (every host's shell mentions the sleep; only one host runs it). */
function pidsRunning(args: string): number[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[2] === args)
    .map((m) => Number(m[1]));
}

/** SIGKILL, tolerating a process that has just exited. */
function killIfThere(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

describe('fault-injection: network and daemon faults', () => {
  it('DNS failure, black-holed address, revoked host key and sshd killed mid-command each get their own status; good hosts are untouched', async () => {
    const good = scope.fleet.hosts(6, 2200);
    const [revoked, killedMid] = scope.fleet.hosts(2, 2210);
    const knownHosts = path.join(scope.home, 'kh-suite');
    fs.writeFileSync(
      knownHosts,
      `# a comment line\n@revoked [${revoked}]:${scope.fleet.port} ${scope.fleet.hostPublicKey}\n`,
    );
    let blackHole: string | undefined;
    if (withNetns) {
      ns = createNetns();
      ns.blackhole();
      blackHole = `${ns.innerAddress}:22`;
    }
    const inventory = [...good, revoked!, killedMid!, 'no-such-host.invalid', ...(blackHole ? [blackHole] : [])];
    const inv = path.join(scope.home, 'suite.txt');
    fs.writeFileSync(inv, inventory.join('\n') + '\n');
    const markers = scratchDir('herd-suite-markers-');
    fs.chmodSync(markers, 0o777);
    const command = `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3); touch ${markers}/$me; if [ "$me" = ${killedMid} ]; then sleep 43; fi; echo fine`;

    let killed = false;
    const result = await runHerd(
      [
        'run',
        '-i',
        inv,
        '-u',
        scope.fleet.user,
        '-p',
        String(scope.fleet.port),
        '-k',
        scope.fleet.keyPath,
        '--known-hosts',
        knownHosts,
        '--connect-timeout',
        '2',
        '-o',
        path.join(scope.home, 'runs'),
        command,
      ],
      {
        env: { HOME: scope.home },
        timeoutMs: 30_000,
        onSpawn: () => {
          // Kill the sshd serving the sleeping host once its command is running.
          const poll = setInterval(() => {
            try {
              for (const pid of pidsRunning('sleep 43')) {
                const sshds = sessionSshds(pid, scope.fleet.pid);
                if (sshds.map(killIfThere).some(Boolean)) {
                  killed = true;
                  clearInterval(poll);
                }
              }
            } catch {
              // A process in the chain exited while we looked: try again on the next tick.
            }
          }, 100);
          setTimeout(() => clearInterval(poll), 20_000).unref();
        },
      },
    );
    expect(killed).toBe(true);
    expect(result.code).toBe(1);
    expect(result.durationMs).toBeLessThan(15_000);
    const rows = readHostsTsv(runDirOf(result));
    for (const h of good) expect(rows.get(h)).toMatchObject({ status: 'ok', exit: '0' });
    expect(rows.get('no-such-host.invalid')).toMatchObject({ status: 'unreachable', reason: 'host name not found' });
    expect(rows.get(revoked!)).toMatchObject({
      status: 'hostkey_mismatch',
      reason: `host key ssh-ed25519 is marked @revoked in known_hosts (${knownHosts}:2)`,
    });
    expect(fs.existsSync(path.join(markers, revoked!))).toBe(false);
    expect(rows.get(killedMid!)).toMatchObject({
      status: 'interrupted',
      reason: 'connection lost while the command was running (it may have run)',
    });
    if (blackHole)
      expect(rows.get(blackHole)).toMatchObject({
        status: 'unreachable',
        reason: 'timed out after 2s waiting for TCP connect',
      });
    const failed = fs
      .readFileSync(path.join(runDirOf(result), 'failed.txt'), 'utf8')
      .trim()
      .split('\n')
      .sort();
    expect(failed).toEqual(inventory.filter((h) => !good.includes(h)).sort());
  });
});
