// herd shell in a real terminal (tmux, its own socket): the prompt, Ctrl-C during a command (the remote processes
// are gone and the same connections answer the next command), Ctrl-C and Tab at the prompt, the history file, a
// dropped connection reconnected by the next command, and Ctrl-D. The fleet sshd's log counts the logins.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, loginsPerHost } from '../fleet/fleet.js';
import { HERD_BIN, pidsWith, readHostsTsv, removeScratchDirs, scratchDir } from './herd-cli.js';
import { hasTmux, openTerminal, sleep, type Terminal } from './tmux.js';

let fleet: Fleet;
let home: string;
let term: Terminal | undefined;

beforeAll(async () => {
  if (!hasTmux) return;
  const { startFleet } = await import('../fleet/fleet.js');
  fleet = await startFleet({ logLevel: 'VERBOSE' });
  home = scratchDir();
});
afterAll(async () => {
  term?.close();
  await fleet?.stop();
  removeScratchDirs();
});

/** Pids of the sshd processes holding an established connection to `host` on the fleet port. */
function sessionPids(host: string): number[] {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', 'src', `${host}:${fleet.port}`], {
    encoding: 'utf8',
  });
  return [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

async function until(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.skipIf(!hasTmux)('herd shell in a terminal', () => {
  it('Ctrl-C stops a command on every host and the same connections answer the next; history 0600; Ctrl-D quits', async () => {
    const hosts = fleet.hosts(3, 5100);
    const [dropped] = hosts as [string, string, string];
    const inventory = path.join(home, 'three.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const state = path.join(home, 'state');
    const runs = path.join(home, 'runs');
    const marker = `herd-shell-marker-${randomBytes(6).toString('hex')}`;
    term = await openTerminal({ name: 'shell-tty', width: 200, height: 50, join: true });
    const args = [
      HERD_BIN,
      'shell',
      '-i',
      inventory,
      '-u',
      fleet.user,
      '-p',
      String(fleet.port),
      '-k',
      fleet.keyPath,
      '--known-hosts',
      path.join(home, 'kh'),
      '-o',
      runs,
    ];
    const before = loginsPerHost(fleet);
    term.send(
      `cd ${home} && NO_COLOR=1 HERD_SSH_SYSTEM_CONFIG=none XDG_STATE_HOME=${state} ${args.join(' ')}; echo "EXIT=$?"`,
    );
    await term.waitFor((s) => s.includes('herd [3/3 all]> '), 30_000);
    /** Finished run directories, oldest first (a run is done once run.json's state is no longer running). */
    const finished = (): string[] =>
      fs.existsSync(runs)
        ? fs
            .readdirSync(runs)
            .filter((d) => d !== 'latest')
            .sort()
            .map((d) => path.join(runs, d))
            .filter((d) => {
              try {
                return (
                  (JSON.parse(fs.readFileSync(path.join(d, 'run.json'), 'utf8')) as { state: string }).state !==
                  'running'
                );
              } catch {
                return false;
              }
            })
        : [];
    const prompt = (connected: number) => (s: string) => s.trimEnd().endsWith(`herd [${connected}/3 all]>`);
    /** Types a line and waits for the prompt after its command's run directory is complete. */
    const command = async (line: string, runsAfter: number, connected = 3): Promise<string> => {
      term!.send(line);
      await until(`run ${runsAfter}`, () => finished().length === runsAfter, 30_000);
      await term!.waitFor(prompt(connected), 10_000);
      return finished()[runsAfter - 1]!;
    };

    await command('echo first', 1);

    // Ctrl-C while `sleep 30` runs on every host (each has said so on the stream): the remote commands are killed
    // and the prompt comes back.
    term.send(':stream on');
    await term.waitFor((s) => s.includes('stream on') && prompt(3)(s), 10_000);
    term.send(`echo go-$(echo "$SSH_CONNECTION" | cut -d' ' -f3); sleep 30 # ${marker}`);
    await term.waitFor((s) => hosts.every((h) => s.includes(`${h}: go-${h}`)), 30_000);
    await until('the sleeps on every host', () => pidsWith(marker).length >= 3);
    term.keys('C-c');
    await until('the stopped run', () => finished().length === 2, 30_000);
    const stopped = await term.waitFor(prompt(3), 10_000);
    expect(stopped).toContain('herd: Ctrl-C: the command was stopped on every host');
    await until('no remote sleep left', () => pidsWith(marker).length === 0, 5_000);
    const interrupted = finished()[1]!;
    for (const row of readHostsTsv(interrupted).values()) {
      expect(row.status).toBe('interrupted');
      expect(row.reason).toMatch(/remote processes killed/);
    }
    const record = JSON.parse(fs.readFileSync(path.join(interrupted, 'run.json'), 'utf8')) as { state: string };
    expect(record.state).toBe('interrupted');
    term.send(':stream off');
    await term.waitFor((s) => s.includes('stream off') && prompt(3)(s), 10_000);

    // At the prompt Ctrl-C clears the line; Tab completes a built-in.
    term.type('never-run');
    term.keys('C-c');
    await term.waitFor((s) => /\^C\n/.test(s) && prompt(3)(s), 10_000);
    term.type(':he');
    term.keys('Tab');
    await term.waitFor((s) => s.trimEnd().endsWith('herd [3/3 all]> :help'), 10_000);
    term.keys('Enter');
    await term.waitFor((s) => s.includes(':put LOCAL REMOTE') && prompt(3)(s), 10_000);

    // The same connections answer: one login per host so far, and the cleared line never ran.
    const after = await command('echo after', 3);
    for (const row of readHostsTsv(after).values()) expect(row.status).toBe('ok');
    expect(JSON.parse(fs.readFileSync(path.join(after, 'run.json'), 'utf8'))).toMatchObject({ handshakes: 0 });
    expect(finished().map((d) => JSON.parse(fs.readFileSync(path.join(d, 'run.json'), 'utf8')).task.command)).toEqual([
      'echo first',
      `echo go-$(echo "$SSH_CONNECTION" | cut -d' ' -f3); sleep 30 # ${marker}`,
      'echo after',
    ]);
    const logins = loginsPerHost(fleet);
    for (const h of hosts) expect((logins.get(h) ?? 0) - (before.get(h) ?? 0)).toBe(1);

    // A connection that drops between commands: the prompt counts it out, the next command reconnects it.
    const pids = sessionPids(dropped);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) process.kill(pid, 'SIGTERM');
    await until('the dropped connection closed', () => sessionPids(dropped).length === 0);
    await sleep(300);
    term.keys('Enter');
    await term.waitFor(prompt(2), 10_000);
    const back = await command('echo back', 4);
    for (const row of readHostsTsv(back).values()) expect(row.status).toBe('ok');
    expect(JSON.parse(fs.readFileSync(path.join(back, 'run.json'), 'utf8'))).toMatchObject({ handshakes: 1 });
    const again = loginsPerHost(fleet);
    for (const h of hosts) expect((again.get(h) ?? 0) - (before.get(h) ?? 0)).toBe(h === dropped ? 2 : 1);

    // History: every line typed, in a 0600 file.
    const history = path.join(state, 'herd', 'shell_history');
    expect(fs.statSync(history).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(history, 'utf8')).toContain(`sleep 30 # ${marker}`);

    // Ctrl-D quits, closes every connection, and exits with the worst command's code (130: one was interrupted).
    term.keys('C-d');
    await term.waitFor((s) => /^EXIT=\d+$/m.test(s), 20_000);
    expect(term.screen()).toMatch(/^EXIT=130$/m);
    for (const h of hosts) await until(`${h}'s connection closed`, () => sessionPids(h).length === 0);
  });
});
