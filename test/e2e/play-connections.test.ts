// One pool per run: a playbook keeps each host's connection across its passes (serial batches,
// consensus-gate segments, plays). The fleet's own sshd log is the oracle for how many times each
// host authenticated; `ss` on the fleet port shows which connections are still open.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, loginsPerHost } from '../fleet/fleet.js';
import { readHostsTsv, removeScratchDirs, runDirOf, runHerd, scratchDir } from './herd-cli.js';

let fleet: Fleet;
let home: string;

beforeAll(async () => {
  const { startFleet } = await import('../fleet/fleet.js');
  // VERBOSE: sshd logs "Connection from C port N on HOST port P", which names the target address.
  fleet = await startFleet({ logLevel: 'VERBOSE' });
  home = scratchDir();
});
afterAll(async () => {
  await fleet?.stop();
  removeScratchDirs();
});

/** Commands (sessions) on `host` that sshd has seen close: a host's step is over once its command's session closed. */
function closedSessions(host: string): number {
  const lines = fs.readFileSync(path.join(fleet.dir, 'sshd.log'), 'utf8').split('\n');
  const ports = new Set<string>();
  let closed = 0;
  for (const line of lines) {
    const conn = /Connection from \S+ port (\d+) on (\S+) port \d+/.exec(line);
    if (conn && conn[2] === host) ports.add(conn[1]!);
    const close = /Close session: user \S+ from \S+ port (\d+) id/.exec(line);
    if (close && ports.has(close[1]!)) closed++;
  }
  return closed;
}

/** Pids of the sshd processes holding an established connection to `host` on the fleet port. */
function sessionPids(host: string): number[] {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', 'src', `${host}:${fleet.port}`], {
    encoding: 'utf8',
  });
  return [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

async function waitFor(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a playbook with two consensus gates and serial batches', () => {
  it('authenticates each host once, closes a held-back host at its gate, and reconnects one that broke while idle', async () => {
    const disk = scratchDir('herd-disk-');
    fs.chmodSync(disk, 0o777);
    // Batch 1: idle (its connection is killed while it waits for slow) and slow. Batch 2: odd
    // (held back at the first gate) and watcher (looks, on the host, whether odd's connection is gone).
    const [idle, slow, odd, watcher] = fleet.hosts(4, 7600) as [string, string, string, string];
    const port = fleet.port;
    const book = path.join(home, 'gates.yml');
    fs.writeFileSync(
      book,
      `- name: gated
  serial: 2
  vars: { base: "${disk}" }
  steps:
    - name: first gate
      run: "touch {{ base }}/{{ host }}.g1; case {{ host }} in ${slow}) sleep 4;; esac; case {{ host }} in ${odd}) echo sdm;; *) echo sdb;; esac"
      check: true
      expect: { consensus: true }
    - name: is the held-back host's connection closed
      run: "for i in $(seq 100); do [ -z \\"$(ss -Htn state established src ${odd}:${port})\\" ] && { echo closed > {{ base }}/{{ host }}.odd; exit 0; }; sleep 0.1; done; echo open > {{ base }}/{{ host }}.odd"
    - name: second gate
      run: echo same
      check: true
      expect: { consensus: true }
    - name: after the gates
      run: touch {{ base }}/{{ host }}.done
- name: second play
  steps:
    - name: once more
      run: "true"
`,
    );
    const inv = path.join(home, 'gates.txt');
    fs.writeFileSync(inv, [idle, slow, odd, watcher].join('\n') + '\n');
    const args = [
      'play',
      '-i',
      inv,
      '-u',
      fleet.user,
      '-p',
      String(port),
      '-k',
      fleet.keyPath,
      '--known-hosts',
      path.join(home, 'kh'),
      '-o',
      path.join(home, 'runs'),
      book,
    ];
    const run = runHerd(args, { env: { HOME: home } });

    // While slow sleeps at the first gate, idle has passed it and waits with its connection open: kill that connection.
    await waitFor(
      'idle to pass its first step',
      () => fs.existsSync(path.join(disk, `${idle}.g1`)) && closedSessions(idle) === 1,
    );
    await waitFor('idle to hold an open connection', () => sessionPids(idle).length > 0);
    await new Promise((r) => setTimeout(r, 300)); // its step's channel has closed: the connection is idle
    for (const pid of sessionPids(idle)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already: its parent (sshd's monitor) was killed first */
      }
    }

    const result = await run;
    const dir = runDirOf(result);
    const rows = readHostsTsv(dir);
    expect(result.stderr).toContain('4 hosts: 3 ok, 1 diverged');
    for (const h of [idle, slow, watcher]) expect(rows.get(h)?.status).toBe('ok');
    expect(rows.get(odd)?.status).toBe('diverged');
    for (const h of [idle, slow, watcher]) expect(fs.existsSync(path.join(disk, `${h}.done`))).toBe(true);
    // The watcher ran after the gate that held odd back: by then odd's connection was closed.
    expect(fs.readFileSync(path.join(disk, `${watcher}.odd`), 'utf8')).toBe('closed\n');

    // One handshake per host, across 3 segments of 2 batches and 2 plays; idle's broken connection
    // was reconnected once, and that counts. The run records the same number sshd saw.
    const logins = loginsPerHost(fleet);
    expect(Object.fromEntries(logins)).toEqual({ [idle]: 2, [slow]: 1, [odd]: 1, [watcher]: 1 });
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { handshakes?: number };
    expect(record.handshakes).toBe(5);
    // Every connection was closed at the end.
    for (const h of [idle, slow, odd, watcher]) expect(sessionPids(h)).toEqual([]);
  }, 90_000);
});

describe('kept connections and --forks', () => {
  it('never hold more connections open than --forks, even with more workers than that', async () => {
    const disk = scratchDir('herd-disk-');
    fs.chmodSync(disk, 0o777);
    const hosts = fleet.hosts(3, 7700);
    const port = fleet.port;
    // Each step sees, on the host, how many connections the fleet's sshd holds (its own included).
    const count = (tag: string): string =>
      `sleep 0.5; ss -Htn state established '( sport = :${port} )' | wc -l > {{ base }}/{{ host }}.${tag}`;
    const book = path.join(home, 'forks.yml');
    fs.writeFileSync(
      book,
      `name: bounded
vars: { base: "${disk}" }
steps:
  - name: gate
    run: "${count('s1')}; echo same"
    check: true
    expect: { consensus: true }
  - name: after the gate
    run: "${count('s2')}"
`,
    );
    const inv = path.join(home, 'forks.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const kh = path.join(home, 'kh-forks');
    const play = (forks: number, out: string): ReturnType<typeof runHerd> =>
      runHerd(
        [
          'play',
          '-i',
          inv,
          '-u',
          fleet.user,
          '-p',
          String(port),
          '-k',
          fleet.keyPath,
          '--known-hosts',
          kh,
          '-o',
          path.join(home, out),
          '-w',
          '2',
          '--forks',
          String(forks),
          book,
        ],
        { env: { HOME: home } },
      );

    const one = await play(1, 'runs-forks1');
    expect(one.stderr).toContain('3 hosts: 3 ok');
    for (const h of hosts)
      for (const tag of ['s1', 's2']) expect(fs.readFileSync(path.join(disk, `${h}.${tag}`), 'utf8').trim()).toBe('1');
    // Room for one: a host's idle connection made way for the next host's, so most were opened again after the gate.
    const handshakes = (dir: string): number =>
      (JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { handshakes: number }).handshakes;
    expect(handshakes(runDirOf(one))).toBeGreaterThan(3);
    expect(handshakes(runDirOf(one))).toBeLessThanOrEqual(6);
    // Those reconnections, in workers that live across passes, knew the keys accept-new recorded before: one line per
    // host.
    expect(
      fs
        .readFileSync(kh, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    ).toEqual(hosts.map((h) => `[${h}]:${port}`));

    const three = await play(3, 'runs-forks3');
    expect(three.stderr).toContain('3 hosts: 3 ok');
    expect(handshakes(runDirOf(three))).toBe(3);
  }, 90_000);
});

describe('a worker process that dies between passes', () => {
  it('is replaced for the next pass, and its hosts are connected again and still end ok', async () => {
    const disk = scratchDir('herd-disk-');
    fs.chmodSync(disk, 0o777);
    const [fast, slow] = fleet.hosts(2, 7800) as [string, string];
    const port = fleet.port;
    const book = path.join(home, 'worker-dies.yml');
    fs.writeFileSync(
      book,
      `name: worker dies
vars: { base: "${disk}" }
steps:
  - name: gate
    run: "touch {{ base }}/{{ host }}.g1; case {{ host }} in ${slow}) sleep 5;; *) sleep 1.5;; esac; echo same"
    check: true
    expect: { consensus: true }
  - name: after the gate
    run: touch {{ base }}/{{ host }}.done
`,
    );
    const inv = path.join(home, 'worker-dies.txt');
    fs.writeFileSync(inv, `${fast}\n${slow}\n`);
    const before = loginsPerHost(fleet);
    const closedBefore = closedSessions(fast);
    // Two workers, one host each (the fast host takes long enough for the second worker to be up and
    // take the slow one): the fast host's worker is idle while the slow host runs.
    const run = runHerd(
      [
        'play',
        '-i',
        inv,
        '-u',
        fleet.user,
        '-p',
        String(port),
        '-k',
        fleet.keyPath,
        '--known-hosts',
        path.join(home, 'kh'),
        '-o',
        path.join(home, 'runs-worker-dies'),
        '-w',
        '2',
        book,
      ],
      { env: { HOME: home } },
    );
    await waitFor(
      'the fast host to pass the gate step',
      () => fs.existsSync(path.join(disk, `${fast}.g1`)) && closedSessions(fast) > closedBefore,
    );
    // The worker holding the fast host's connection: the client side of it, seen by ss.
    let worker: number | undefined;
    await waitFor("the fast host's worker", () => {
      const out = execFileSync('ss', ['-Htnp', 'state', 'established', 'dst', `${fast}:${port}`], { encoding: 'utf8' });
      worker = [...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]))[0];
      return worker !== undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(worker!, 'SIGKILL');

    const result = await run;
    expect(result.stderr).toContain('2 hosts: 2 ok');
    for (const h of [fast, slow]) expect(fs.existsSync(path.join(disk, `${h}.done`))).toBe(true);
    const after = loginsPerHost(fleet);
    expect((after.get(fast) ?? 0) - (before.get(fast) ?? 0)).toBe(2);
    expect((after.get(slow) ?? 0) - (before.get(slow) ?? 0)).toBe(1);
  }, 90_000);
});
