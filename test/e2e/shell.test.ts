// herd shell with piped stdin against a real sshd fleet: several lines over one connection per host (the fleet
// sshd's own log is the oracle for how many times each host authenticated), the built-ins that select hosts and
// move files, and a run directory per command that herd show reads like any run's.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { type Fleet, loginsPerHost } from '../fleet/fleet.js';
import { refusedPort, silentListener } from '../fleet/faults.js';
import {
  HERD_BIN,
  childPids,
  PRINT_ADDRESS,
  readHostsTsv,
  pidsWith,
  removeScratchDirs,
  runHerd,
  scratchDir,
  type HerdResult,
} from './herd-cli.js';

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

function shellArgs(inventory: string, runs: string, extra: string[] = [], known = path.join(home, 'kh')): string[] {
  return [
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
    known,
    '-o',
    path.join(home, runs),
    ...extra,
  ];
}

/** Every `results: DIR` line herd printed, in order: one per command. */
function runDirs(result: HerdResult): string[] {
  return [...result.stderr.matchAll(/^results: (.+)$/gm)].map((m) => m[1]!.trim());
}

describe('herd shell with piped commands', () => {
  it('runs every line over one connection per host, with :limit and :failed, and a run directory per command', async () => {
    const hosts = fleet.hosts(4, 4100);
    const [a, b] = hosts as [string, string, string, string];
    const inventory = path.join(home, 'four.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const script = [
      PRINT_ADDRESS,
      `:limit ${a},${b}`,
      // a ends ok, b fails: :failed then selects b alone.
      `test "$(${PRINT_ADDRESS})" = ${a}`,
      ':failed',
      `echo again-$(${PRINT_ADDRESS})`,
      ':all',
      'echo last',
    ].join('\n');
    const before = loginsPerHost(fleet);
    const r = await runHerd(shellArgs(inventory, 'runs-a'), { input: script + '\n', cwd: home });
    expect(r.stderr).toContain('connected to 4 of 4 hosts');
    const dirs = runDirs(r);
    expect(dirs).toHaveLength(4);
    // The worst line failed a host: the session exits 1 (a failed host), as herd run would for that line.
    expect(r.code).toBe(1);
    // One handshake per host for the whole session, whatever the number of commands.
    const after = loginsPerHost(fleet);
    for (const h of hosts) expect((after.get(h) ?? 0) - (before.get(h) ?? 0)).toBe(1);

    const [first, second, third, fourth] = dirs as [string, string, string, string];
    expect([...readHostsTsv(first).keys()].sort()).toEqual([...hosts].sort());
    for (const h of hosts) expect(fs.readFileSync(path.join(first, 'stdout', h), 'utf8')).toBe(`${h}\n`);
    const limited = readHostsTsv(second);
    expect([...limited.keys()].sort()).toEqual([a, b].sort());
    expect(limited.get(a)?.status).toBe('ok');
    expect(limited.get(b)?.status).toBe('failed');
    const failedOnly = readHostsTsv(third);
    expect([...failedOnly.keys()]).toEqual([b]);
    expect(fs.readFileSync(path.join(third, 'stdout', b), 'utf8')).toBe(`again-${b}\n`);
    expect([...readHostsTsv(fourth).keys()].sort()).toEqual([...hosts].sort());
    // Ordinary run directories: run.json says which command, and that the held connections needed no handshake.
    const record = JSON.parse(fs.readFileSync(path.join(fourth, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(record['command']).toBe('shell');
    expect(record['task']).toMatchObject({ kind: 'command', command: 'echo last' });
    expect(record['handshakes']).toBe(0);
    expect(record['state']).toBe('done');
    const show = await runHerd(['show', second, '-o', path.join(home, 'runs-a')], { cwd: home });
    expect(show.code).toBe(0);
    expect(show.stdout + show.stderr).toContain(b);
    // herd rerun repeats a shell command on the hosts that did not end ok, as for any run.
    const rerun = await runHerd(['rerun', second, ...shellArgs(inventory, 'runs-a').slice(3)], { cwd: home });
    expect(rerun.code, rerun.stderr).toBe(1);
    expect([...readHostsTsv(runDirs(rerun)[0]!).keys()]).toEqual([b]);
  });

  it("-w 0 holds the session's connections in herd's own process: no worker, one handshake per host", async () => {
    const hosts = fleet.hosts(3, 4150);
    const inventory = path.join(home, 'in-process.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const before = loginsPerHost(fleet);
    // While the second line sleeps on every host, herd has no child process.
    let children: number[] | undefined;
    const r = await runHerd(shellArgs(inventory, 'runs-w0', ['-w', '0']), {
      input: `${PRINT_ADDRESS}\nsleep 1\necho three\n`,
      cwd: home,
      onSpawn: (child) => {
        const look = setInterval(() => {
          // The second command's run directory is there (beside the first's and `latest`): it is sleeping.
          if (fs.existsSync(path.join(home, 'runs-w0')) && fs.readdirSync(path.join(home, 'runs-w0')).length >= 3) {
            children = childPids(child.pid!);
            clearInterval(look);
          }
        }, 50);
        child.once('exit', () => clearInterval(look));
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(children).toEqual([]);
    const dirs = runDirs(r);
    expect(dirs).toHaveLength(3);
    for (const h of hosts) expect(fs.readFileSync(path.join(dirs[0]!, 'stdout', h), 'utf8')).toBe(`${h}\n`);
    for (const h of hosts) expect(fs.readFileSync(path.join(dirs[2]!, 'stdout', h), 'utf8')).toBe('three\n');
    const record = JSON.parse(fs.readFileSync(path.join(dirs[2]!, 'run.json'), 'utf8')) as {
      options: { workers: number };
    };
    expect(record.options.workers).toBe(0);
    const after = loginsPerHost(fleet);
    for (const h of hosts) expect((after.get(h) ?? 0) - (before.get(h) ?? 0)).toBe(1);
  });

  it(':put and :get move files over the held connections; a bad built-in is refused and the session goes on (exit 2)', async () => {
    const hosts = fleet.hosts(2, 4200);
    const inventory = path.join(home, 'two.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const disk = scratchDir('herd-disk-');
    fs.chmodSync(disk, 0o777);
    const local = path.join(home, `payload-${randomBytes(4).toString('hex')}.txt`);
    fs.writeFileSync(local, 'payload\n');
    const pulled = path.join(home, 'pulled');
    const script = [
      `:put ${local} ${disk}/{{ host }}.txt`,
      `:get ${disk}/{{ host }}.txt ${pulled}`,
      ':limit',
      ':nonsense',
      'true',
    ].join('\n');
    const before = loginsPerHost(fleet);
    const r = await runHerd(shellArgs(inventory, 'runs-b'), { input: script + '\n', cwd: home });
    expect(r.stderr).toContain('usage: :limit PATTERN');
    expect(r.stderr).toContain('unknown built-in ":nonsense"');
    expect(r.code).toBe(2);
    const dirs = runDirs(r);
    expect(dirs).toHaveLength(3);
    for (const h of hosts) {
      expect(fs.readFileSync(path.join(disk, `${h}.txt`), 'utf8')).toBe('payload\n');
      expect(fs.readFileSync(path.join(pulled, h, `${h}.txt`), 'utf8')).toBe('payload\n');
    }
    const push = JSON.parse(fs.readFileSync(path.join(dirs[0]!, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(push['command']).toBe('shell push');
    expect(push['task']).toMatchObject({ kind: 'transfer', direction: 'push' });
    expect([...readHostsTsv(dirs[1]!).values()].map((v) => v.status)).toEqual(['ok', 'ok']);
    const after = loginsPerHost(fleet);
    for (const h of hosts) expect((after.get(h) ?? 0) - (before.get(h) ?? 0)).toBe(1);
  });

  it(':hosts, :timeout, :play, :show and :diff work on the selection and the last command', async () => {
    const hosts = fleet.hosts(3, 4500);
    const [a] = hosts as [string, string, string];
    const inventory = path.join(home, 'builtins.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const book = path.join(home, 'book.yml');
    fs.writeFileSync(book, '- steps:\n    - name: say\n      run: echo played\n');
    const script = [
      ':hosts',
      ':timeout 1',
      'sleep 5',
      ':timeout 0',
      // a prints something else: :diff shows it against the majority.
      `if [ "$(${PRINT_ADDRESS})" = ${a} ]; then echo odd; else echo same; fi`,
      ':show',
      ':diff',
      `:play ${book} --check`,
      `:play ${book}`,
    ].join('\n');
    const before = loginsPerHost(fleet);
    const r = await runHerd(shellArgs(inventory, 'runs-c'), { input: script + '\n', cwd: home });
    const dirs = runDirs(r);
    expect(dirs, r.stderr).toHaveLength(4);
    for (const h of hosts) expect(r.stdout).toContain(`${h}\tconnected`);
    // :timeout 1: the sleeps are stopped as --timeout 1 stops them, and recorded so.
    for (const row of readHostsTsv(dirs[0]!).values()) {
      expect(row.status).toBe('timeout');
      expect(row.reason).toMatch(/--timeout 1s/);
    }
    // :show replays the grouped view of the last command; :diff shows the odd host against the majority.
    expect(r.stdout.split('same').length - 1).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toMatch(new RegExp(`${a.replace(/\./g, '\\.')}[\\s\\S]*\\+odd`));
    const check = JSON.parse(fs.readFileSync(path.join(dirs[2]!, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(check['command']).toBe('shell play --check');
    expect(check['task']).toMatchObject({ kind: 'playbook', check: true });
    const steps = fs.readFileSync(path.join(dirs[3]!, 'steps.tsv'), 'utf8');
    expect(
      steps.split('\n').filter((l) => /\tchanged\t/.test(l)),
      steps,
    ).toHaveLength(3);
    for (const h of hosts)
      expect(fs.readFileSync(path.join(dirs[3]!, 'steps', '1.1', 'stdout', h), 'utf8')).toBe('played\n');
    // The timed-out command exits 1 for its hosts: the worst line.
    expect(r.code).toBe(1);
    const after = loginsPerHost(fleet);
    for (const h of hosts) expect((after.get(h) ?? 0) - (before.get(h) ?? 0)).toBe(1);
  });

  it('a held host that cannot be reached again is counted out and is unreachable in the next command', async () => {
    // That host is behind its own sshd, which goes away with its session between two commands.
    const { startFleet } = await import('../fleet/fleet.js');
    const other = await startFleet();
    try {
      const hosts = fleet.hosts(2, 4600);
      const lost = `${fleet.hosts(1, 4610)[0]!}:${other.port}`;
      const inventory = path.join(home, 'lost.txt');
      fs.writeFileSync(inventory, [...hosts, lost].join('\n') + '\n');
      fs.copyFileSync(other.keyPath, path.join(home, 'other_key'));
      const args = [...shellArgs(inventory, 'runs-lost'), '-k', path.join(home, 'other_key'), '--connect-timeout', '3'];
      const child = spawn(HERD_BIN, args, {
        cwd: home,
        env: { ...process.env, NO_COLOR: '1', HERD_SSH_SYSTEM_CONFIG: 'none' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const results = async (n: number): Promise<void> => {
        const deadline = Date.now() + 30_000;
        while ((stderr.match(/^results: /gm) ?? []).length < n) {
          if (Date.now() > deadline) throw new Error(`no results line ${n}:\n${stderr}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      child.stdin.write('true\n');
      await results(1);
      expect(stderr).toContain('connected to 3 of 3 hosts');
      const held = execFileSync('ss', ['-Htnp', 'state', 'established', 'sport', `:${other.port}`], {
        encoding: 'utf8',
      });
      const pids = [...new Set([...held.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
      expect(pids.length).toBeGreaterThan(0);
      await other.stop();
      for (const pid of pids) process.kill(pid, 'SIGTERM');
      const open = (): string =>
        execFileSync('ss', ['-Htn', 'state', 'established', 'dport', `:${other.port}`], { encoding: 'utf8' }).trim();
      for (let i = 0; open() !== '' && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      child.stdin.write(':hosts\ntrue\n');
      await results(2);
      child.stdin.end();
      expect(await exited).toBe(1);
      // Counted out as soon as it dropped (:hosts before the next command), then refused when reconnected.
      expect(stdout).toContain(`${lost}\tnot connected`);
      for (const h of hosts) expect(stdout).toContain(`${h}\tconnected`);
      const dirs = runDirs({ code: 0, signal: null, stdout: '', stderr, durationMs: 0 });
      const rows = readHostsTsv(dirs[1]!);
      expect(rows.get(lost)?.status).toBe('unreachable');
      expect(rows.get(lost)?.reason).toMatch(/refused/);
      for (const h of hosts) expect(rows.get(h)?.status).toBe('ok');
    } finally {
      await other.stop();
    }
  });

  it('Ctrl-C while connecting ends the connect, not the shell; -i - is refused (stdin carries the commands)', async () => {
    const silent = await silentListener();
    try {
      const [host] = fleet.hosts(1, 4700) as [string];
      const inventory = path.join(home, 'silent.txt');
      fs.writeFileSync(inventory, [host, `${silent.host}:${silent.port}`].join('\n') + '\n');
      const before = loginsPerHost(fleet).get(host) ?? 0;
      const child = spawn(HERD_BIN, [...shellArgs(inventory, 'runs-int'), '--connect-timeout', '60'], {
        cwd: home,
        env: { ...process.env, NO_COLOR: '1', HERD_SSH_SYSTEM_CONFIG: 'none' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      // The fleet host has logged in (its sshd says so); the silent one never answers.
      for (let i = 0; (loginsPerHost(fleet).get(host) ?? 0) === before; i++) {
        if (i > 400) throw new Error('the fleet host never logged in');
        await new Promise((r) => setTimeout(r, 50));
      }
      // sshd logs the login before it sends its success, so herd learns of it a moment later; on a busy machine
      // that moment was longer than the poll (CI: 'connected to 0 of 2 hosts'). Herd shows nothing while it
      // connects on a pipe, so the test gives it a second, far more than the few milliseconds it takes.
      await new Promise((r) => setTimeout(r, 1000));
      child.kill('SIGINT');
      // Only the connected host: the silent one would wait its 60 s connect timeout again.
      child.stdin.end(`:limit ${host}\necho still-here\n`);
      expect(await exited).toBe(0);
      expect(stderr).toContain('connected to 1 of 2 hosts');
      const dir = runDirs({ code: 0, signal: null, stdout: '', stderr, durationMs: 0 })[0]!;
      expect(readHostsTsv(dir).get(host)?.status).toBe('ok');
      expect(fs.readFileSync(path.join(dir, 'stdout', host), 'utf8')).toBe('still-here\n');
    } finally {
      await silent.close();
    }
    const stdin = await runHerd(['shell', '-i', '-', '-o', path.join(home, 'runs-int')], { input: 'x\n', cwd: home });
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toContain('-i - would read the inventory from stdin');
  });

  it('SIGINT on piped input stops the running command on every host, then the next line runs (exit 130)', async () => {
    const hosts = fleet.hosts(2, 4800);
    const inventory = path.join(home, 'sigint.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const marker = `herd-shell-marker-${randomBytes(6).toString('hex')}`;
    const child = spawn(HERD_BIN, [...shellArgs(inventory, 'runs-sigint'), '--stream'], {
      cwd: home,
      env: { ...process.env, NO_COLOR: '1', HERD_SSH_SYSTEM_CONFIG: 'none' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.write(`echo go; sleep 30 # ${marker}\n`);
    // Every host has said so on the stream: each command started.
    for (let i = 0; !hosts.every((h) => stdout.includes(`${h}: go`)) || pidsWith(marker).length < 2; i++) {
      if (i > 600) throw new Error(`the sleeps never started:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = loginsPerHost(fleet);
    child.kill('SIGINT');
    child.stdin.end('echo next\n');
    expect(await exited).toBe(130);
    expect(pidsWith(marker)).toEqual([]);
    const [stopped, next] = runDirs({ code: 0, signal: null, stdout: '', stderr, durationMs: 0 }) as [string, string];
    for (const row of readHostsTsv(stopped).values()) expect(row.status).toBe('interrupted');
    for (const row of readHostsTsv(next).values()) expect(row.status).toBe('ok');
    // The next line ran over the same connections.
    const after = loginsPerHost(fleet);
    for (const h of hosts) expect(after.get(h) ?? 0).toBe(before.get(h) ?? 0);
  });

  it('a worker process that dies between commands: its hosts count as not connected and the next command reconnects them', async () => {
    const hosts = fleet.hosts(2, 4900);
    const inventory = path.join(home, 'worker.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const child = spawn(HERD_BIN, [...shellArgs(inventory, 'runs-worker'), '-w', '1'], {
      cwd: home,
      env: { ...process.env, NO_COLOR: '1', HERD_SSH_SYSTEM_CONFIG: 'none' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const wait = async (what: string, test: () => boolean): Promise<void> => {
      for (let i = 0; !test(); i++) {
        if (i > 600) throw new Error(`timed out waiting for ${what}:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    child.stdin.write(':hosts\n');
    await wait('the first :hosts', () => hosts.every((h) => stdout.includes(`${h}\tconnected`)));
    const workers = childPids(child.pid!);
    expect(workers).toHaveLength(1);
    const before = loginsPerHost(fleet);
    process.kill(workers[0]!, 'SIGKILL');
    await wait('the worker gone', () => !fs.existsSync(`/proc/${workers[0]!}`) || childPids(child.pid!).length === 0);
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.write(':hosts\n');
    await wait('the second :hosts', () => hosts.every((h) => stdout.includes(`${h}\tnot connected`)));
    child.stdin.end('echo back\n');
    expect(await exited, stderr).toBe(0);
    const [dir] = runDirs({ code: 0, signal: null, stdout: '', stderr, durationMs: 0 }) as [string];
    for (const row of readHostsTsv(dir).values()) expect(row.status).toBe('ok');
    const after = loginsPerHost(fleet);
    for (const h of hosts) expect((after.get(h) ?? 0) - (before.get(h) ?? 0)).toBe(1);
  });

  it('prints host: line as output arrives with --stream, until :stream off', async () => {
    const hosts = fleet.hosts(2, 4300);
    const inventory = path.join(home, 'stream.txt');
    fs.writeFileSync(inventory, hosts.join('\n') + '\n');
    const script = ['echo streamed-one', ':stream off', 'echo grouped-two'].join('\n');
    const r = await runHerd(shellArgs(inventory, 'runs-s', ['--stream']), { input: script + '\n', cwd: home });
    expect(r.code, r.stderr).toBe(0);
    for (const h of hosts) expect(r.stdout).toContain(`${h}: streamed-one`);
    expect(r.stdout).not.toContain(': grouped-two');
    // Without --stream the grouped view shows the output once for both hosts.
    expect(r.stdout).toMatch(/2 hosts exit 0[^\n]*\n\s+grouped-two/);
  });

  it("hands its selection, connection, pool and output flags to every command's run: run.json records them", async () => {
    const refused = await refusedPort();
    try {
      const inventory = path.join(home, 'flags.txt');
      fs.writeFileSync(inventory, [`${refused.host}:${refused.port}`, '10.255.255.1'].join('\n') + '\n');
      const sshConfig = path.join(home, 'ssh_config');
      fs.writeFileSync(sshConfig, 'Host *\n  ConnectTimeout 9\n');
      const key = path.join(home, 'flags_id');
      if (!fs.existsSync(key)) execFileSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-f', key]);
      const out = path.join(home, 'runs-flags');
      const args = [
        'shell',
        '-i',
        inventory,
        '--inventory-format',
        'herd',
        '-l',
        `${refused.host}:*`,
        '-F',
        sshConfig,
        '-J',
        `jumper@${refused.host}:${refused.port}`,
        '--jump-sessions',
        '3',
        '-u',
        'alice',
        '-p',
        '2222',
        '-k',
        key,
        '--password-env',
        'PW',
        '--key-passphrase-env',
        'KP',
        '--known-hosts',
        path.join(home, 'kh-flags'),
        '--host-key-checking',
        'off',
        '--connect-timeout',
        '7',
        '--connect-retries',
        '3',
        '--connect-rate',
        '99',
        '-f',
        '3',
        '-w',
        '1',
        '--max-handshakes',
        '5',
        '-o',
        out,
        '--no-progress',
        '--idle-timeout',
        '30',
        '--max-output',
        '1K',
        '--timeout',
        '9',
        '--no-color',
      ];
      const r = await runHerd(args, { input: 'true\n', cwd: home, env: { PW: 'pw', KP: 'kp' } });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('connected to 0 of 1 host');
      const dir = runDirs(r)[0]!;
      expect(dir.startsWith(out + '/')).toBe(true);
      const rec = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;
      expect(rec['options']).toMatchObject({
        ssh_config: sshConfig,
        jump: `jumper@${refused.host}:${refused.port}`,
        jump_sessions: 3,
        user: 'alice',
        port: 2222,
        keys: [key],
        password_source: 'env:PW',
        key_passphrase_source: 'env:KP',
        known_hosts: path.join(home, 'kh-flags'),
        host_key_mode: 'off',
        connect_timeout_s: 7,
        connect_retries: 3,
        connect_rate: 99,
        forks: 3,
        workers: 1,
        max_handshakes: 5,
        idle_timeout_s: 30,
        max_output_bytes: 1024,
      });
      expect(rec['task']).toMatchObject({ kind: 'command', command: 'true', timeout_s: 9 });
      expect(rec).toMatchObject({ inventory_sources: [inventory], limit: `${refused.host}:*`, hosts_total: 1 });
      // The host was tried through the jump host, at the connect and again before the command.
      expect([...readHostsTsv(dir).values()]).toEqual([
        expect.objectContaining({ reason: `jump host jumper@${refused.host}:${refused.port}: connection refused` }),
      ]);
      // --strict-host-keys and the prompts: refused before any host without a terminal to ask on (exit 2).
      const fleetInventory = path.join(home, 'strict.txt');
      fs.writeFileSync(fleetInventory, fleet.hosts(1, 4400).join('\n') + '\n');
      const emptyKnown = path.join(home, 'kh-empty');
      fs.writeFileSync(emptyKnown, '');
      const strict = await runHerd(shellArgs(fleetInventory, 'runs-strict', ['--strict-host-keys'], emptyKnown), {
        input: 'true\n',
        cwd: home,
      });
      expect(strict.stderr).toContain('connected to 0 of 1 host');
      expect(strict.stderr).toMatch(/hostkey_unknown/);
      for (const ask of ['--ask-pass', '--ask-key-passphrase']) {
        const asked = await runHerd(['shell', '-i', inventory, ask, '-k', key, '-o', out], { cwd: home });
        expect(asked.code).toBe(2);
        expect(asked.stderr).toContain(ask);
      }
    } finally {
      await refused.close();
    }
  });
});
