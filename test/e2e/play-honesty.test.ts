// The playbook engine tells the truth about every host and step, on a real loopback fleet:
// a push that sent nothing, a crash of the engine, --check steps that could not verify,
// and hosts held back by a consensus gate that a rerun must judge again.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { driver, openGate, stderrMatches, waitUntil } from './gate.js';
import { fleetArgs, hostDisk, writeFile } from './fleet-args.js';
import { readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

/** steps.tsv rows as `host step` -> every status recorded for it, in order. */
function stepRows(dir: string): Map<string, { status: string; reason: string }[]> {
  const rows = fs.readFileSync(path.join(dir, 'steps.tsv'), 'utf8').trim().split('\n').slice(1);
  const map = new Map<string, { status: string; reason: string }[]>();
  for (const row of rows) {
    const [host, step, , status, , , reason] = row.split('\t');
    const key = `${host} ${step}`;
    map.set(key, [...(map.get(key) ?? []), { status: status!, reason: reason! }]);
  }
  return map;
}

describe('a playbook push', () => {
  it('is changed when it sent files and ok when every file was already there', async () => {
    const disk = hostDisk();
    const src = scratchDir('herd-push-src-');
    fs.mkdirSync(path.join(src, 'app', 'etc'), { recursive: true });
    fs.writeFileSync(path.join(src, 'app', 'VERSION'), '2.0\n');
    fs.writeFileSync(path.join(src, 'app', 'etc', 'app.conf'), 'port=1\n');
    const hosts = scope.fleet.hosts(3, 7100);
    const book = path.join(src, 'push.yml');
    fs.writeFileSync(book, `steps:\n  - name: ship\n    push: { src: app/, dest: "${disk}/{{ host }}" }\n`);
    const inv = writeFile(scope, 'push.txt', hosts.join('\n') + '\n');
    const out = path.join(scope.home, 'runs-push');
    const first = await runHerd(['play', '-i', inv, ...fleetArgs(scope, out), book], { env: { HOME: scope.home } });
    expect(first.stderr).toContain('3 hosts: 3 ok');
    const firstSteps = stepRows(runDirOf(first));
    for (const h of hosts)
      expect(firstSteps.get(`${h} 1.1`)).toEqual([{ status: 'changed', reason: 'pushed 2 files, 11 bytes' }]);

    const second = await runHerd(['play', '-i', inv, ...fleetArgs(scope, out), book], { env: { HOME: scope.home } });
    expect(second.stderr).toContain('3 hosts: 3 ok');
    const secondSteps = stepRows(runDirOf(second));
    for (const h of hosts)
      expect(secondSteps.get(`${h} 1.1`)).toEqual([{ status: 'ok', reason: 'pushed 0 files, 0 bytes (2 unchanged)' }]);
  });
});

describe('herd rerun --include-diverged', () => {
  it('resumes hosts held back by a gate at the gate step and judges them against the earlier majority', async () => {
    const disk = hostDisk();
    const hosts = scope.fleet.hosts(7, 7200);
    const odd = [hosts[1]!, hosts[4]!];
    const layout = (h: string, system: string): void =>
      fs.writeFileSync(path.join(disk, `${h}.lsblk`), `sda disk 100G\n${system} disk 2T\n`);
    for (const h of hosts) layout(h, odd.includes(h) ? 'sdm' : 'sdb');
    const book = writeFile(
      scope,
      'gate.yml',
      `name: check before you act
vars: { base: "${disk}" }
steps:
  - name: inspect disks
    run: cat {{ base }}/{{ host }}.lsblk
    check: true
    expect: { consensus: true }
  - name: format
    run: echo mkfs >> {{ base }}/{{ host }}.formatted
`,
    );
    const out = path.join(scope.home, 'runs-gate');
    const first = await runHerd(
      ['play', '-i', writeFile(scope, 'gate.txt', hosts.join('\n') + '\n'), ...fleetArgs(scope, out), book],
      {
        env: { HOME: scope.home },
      },
    );
    expect(first.stderr).toContain('7 hosts: 5 ok, 2 diverged');
    const firstDir = runDirOf(first);
    // The journal says what happened at the gate: the held-back hosts did not pass it.
    const steps = stepRows(firstDir);
    for (const h of hosts) {
      const want = odd.includes(h) ? 'diverged' : 'ok';
      expect(steps.get(`${h} 1.1`)?.map((r) => r.status)).toEqual([want]);
    }
    expect(steps.get(`${odd[0]} 1.1`)![0]!.reason).toMatch(/output differs from the majority; held back/);

    // Nothing changed on the odd hosts: the rerun holds them back again, at the gate, although
    // among themselves they agree (they are judged against the earlier run's majority).
    const rerun = (): Promise<Awaited<ReturnType<typeof runHerd>>> =>
      runHerd(['rerun', '--include-diverged', '-o', out], { env: { HOME: scope.home } });
    const second = await rerun();
    expect(second.stderr).toContain('2 hosts: 2 diverged');
    const secondSteps = stepRows(runDirOf(second));
    for (const h of odd) {
      expect(secondSteps.get(`${h} 1.1`)?.map((r) => r.status)).toEqual(['diverged']);
      expect(secondSteps.has(`${h} 1.2`)).toBe(false);
      expect(fs.existsSync(path.join(disk, `${h}.formatted`))).toBe(false);
    }

    // One odd host is fixed: a rerun of the rerun lets it through and still holds the other back.
    layout(odd[0]!, 'sdb');
    const third = await rerun();
    expect(third.stderr).toContain('2 hosts: 1 ok, 1 diverged');
    const rows = readHostsTsv(runDirOf(third));
    expect(rows.get(odd[0]!)?.status).toBe('ok');
    expect(rows.get(odd[1]!)?.status).toBe('diverged');
    expect(fs.readFileSync(path.join(disk, `${odd[0]}.formatted`), 'utf8')).toBe('mkfs\n');
    expect(fs.existsSync(path.join(disk, `${odd[1]}.formatted`))).toBe(false);
    for (const h of hosts.filter((x) => !odd.includes(x)))
      expect(fs.readFileSync(path.join(disk, `${h}.formatted`), 'utf8')).toBe('mkfs\n');
  });
});

describe('a crash of the playbook engine', () => {
  it('records the hosts that had not finished as error / not_started, never ok, and herd rerun picks them up', async () => {
    const disk = hostDisk();
    const hosts = scope.fleet.hosts(4, 7300);
    const [early, late] = [hosts.slice(0, 2), hosts.slice(2)];
    const book = writeFile(
      scope,
      'crash.yml',
      `- name: first
  hosts: ${early.join(',')}
  vars: { base: "${disk}" }
  steps:
    - name: one
      run: echo one >> {{ base }}/{{ host }}.one
- name: second
  vars: { base: "${disk}" }
  steps:
    - name: two
      run: echo two >> {{ base }}/{{ host }}.two
`,
    );
    const inv = writeFile(scope, 'crash.txt', hosts.join('\n') + '\n');
    const out = path.join(scope.home, 'runs-crash');
    // Test-only: the engine throws as play 2 starts, after play 1 ran on the early hosts.
    const crashed = await runHerd(['play', '-i', inv, ...fleetArgs(scope, out), book], {
      env: { HOME: scope.home, HERD_TEST_PLAY_CRASH_AT_PLAY: '2' },
    });
    expect(crashed.code).toBe(70);
    expect(crashed.stderr).toContain('herd: internal error');
    const dir = fs.realpathSync(path.join(out, 'latest'));
    const rows = readHostsTsv(dir);
    for (const h of early) {
      expect(rows.get(h)).toMatchObject({ status: 'error' });
      expect(rows.get(h)?.reason).toMatch(
        /playbook engine failed: test crash at play 2; this host stopped after step 1\.1/,
      );
    }
    for (const h of late) {
      expect(rows.get(h)).toMatchObject({ status: 'not_started' });
      expect(rows.get(h)?.reason).toMatch(/playbook engine failed: test crash at play 2; this host had not started/);
    }
    expect(fs.readFileSync(path.join(dir, 'failed.txt'), 'utf8').trim().split('\n')).toEqual(hosts);
    for (const h of hosts) expect(fs.existsSync(path.join(disk, `${h}.two`))).toBe(false);

    const rerun = await runHerd(['rerun', '-o', out], { env: { HOME: scope.home } });
    expect(rerun.stderr).toContain('4 hosts: 4 ok');
    const steps = stepRows(runDirOf(rerun));
    for (const h of early) expect(steps.get(`${h} 1.1`)?.map((r) => r.status)).toEqual(['already_done']);
    for (const h of hosts) {
      expect(fs.readFileSync(path.join(disk, `${h}.two`), 'utf8')).toBe('two\n');
      if (early.includes(h)) expect(fs.readFileSync(path.join(disk, `${h}.one`), 'utf8')).toBe('one\n');
    }
  });
});

describe('Ctrl-C during a consensus gate', () => {
  it('leaves hosts that passed the gate not_started for the later steps, never ok, and a rerun resumes after the gate', async () => {
    const disk = hostDisk();
    const hosts = scope.fleet.hosts(3, 7400);
    // The inspect step holds on a gate until herd has taken the Ctrl-C in: it is running then, whatever the load.
    const hold = openGate();
    const book = writeFile(
      scope,
      'gate-int.yml',
      `name: gate then change
vars: { base: "${disk}" }
steps:
  - name: inspect
    run: |
      ${hold.command('echo same')}
    check: true
    expect: { consensus: true }
  - name: change
    run: echo changed >> {{ base }}/{{ host }}.changed
`,
    );
    const out = path.join(scope.home, 'runs-gate-int');
    const run = driver(async (child) => {
      const once = stderrMatches(child, /herd: SIGINT: starting no new hosts/);
      await waitUntil(() => hold.started().length === hosts.length, 'the inspect step to run on every host');
      child.kill('SIGINT'); // once: the running gate step finishes, nothing new starts
      await once;
      hold.release();
    });
    const result = await runHerd(
      [
        'play',
        '-i',
        writeFile(scope, 'gate-int.txt', hosts.join('\n') + '\n'),
        ...fleetArgs(scope, out),
        '--grace',
        '3600',
        book,
      ],
      {
        env: { HOME: scope.home },
        onSpawn: run.onSpawn,
      },
    );
    expect(run.failure()).toBeUndefined();
    expect(result.code).toBe(130);
    const rows = readHostsTsv(runDirOf(result));
    for (const h of hosts) {
      expect(rows.get(h)?.status).toBe('not_started');
      expect(rows.get(h)?.reason).toBe(
        'run interrupted by SIGINT: this host stopped after step 1.1; its later steps did not start',
      );
      expect(fs.existsSync(path.join(disk, `${h}.changed`))).toBe(false);
    }
    const rerun = await runHerd(['rerun', '-o', out], { env: { HOME: scope.home } });
    expect(rerun.stderr).toContain('3 hosts: 3 ok');
    const steps = stepRows(runDirOf(rerun));
    for (const h of hosts) {
      expect(steps.get(`${h} 1.1`)?.map((r) => r.status)).toEqual(['already_done']);
      expect(fs.readFileSync(path.join(disk, `${h}.changed`), 'utf8')).toBe('changed\n');
    }
  });
});

describe('--check on playbooks/data-disks.yml', () => {
  it('records the verify step that fails after would_run steps as unverified, and counts those hosts apart from ok', async () => {
    const { ROOT } = await import('./herd-cli.js');
    const hosts = scope.fleet.hosts(6, 7500);
    for (const h of hosts)
      for (const suffix of ['disk', 'fstab']) fs.rmSync(`/tmp/herd-demo-${h}.${suffix}`, { force: true });
    const inv = writeFile(scope, 'check.txt', hosts.join('\n') + '\n');
    const out = path.join(scope.home, 'runs-check');
    const result = await runHerd(
      ['play', '--check', '-i', inv, ...fleetArgs(scope, out), path.join(ROOT, 'playbooks', 'data-disks.yml')],
      { env: { HOME: scope.home } },
    );
    // Nothing was changed, so nothing could be verified: not ok, and said so.
    expect(result.stderr).toContain('6 hosts: 6 unverified');
    expect(result.code).toBe(1);
    const dir = runDirOf(result);
    const steps = stepRows(dir);
    const rows = readHostsTsv(dir);
    for (const h of hosts) {
      expect(steps.get(`${h} 1.1`)?.map((r) => r.status)).toEqual(['ok']);
      for (const s of ['1.2', '1.3', '1.4'])
        expect(steps.get(`${h} ${s}`)?.map((r) => r.status)).toEqual(['would_run']);
      expect(steps.get(`${h} 1.5`)).toEqual([
        { status: 'unverified', reason: 'exit code 2 (under --check, after steps that did not run)' },
      ]);
      expect(rows.get(h)).toEqual({
        status: 'unverified',
        exit: '2',
        reason: 'step 1.5 (verify): exit code 2 (under --check, after steps that did not run)',
      });
      for (const suffix of ['disk', 'fstab']) expect(fs.existsSync(`/tmp/herd-demo-${h}.${suffix}`)).toBe(false);
    }
    expect(result.stderr).toMatch(/6 unverified: step 1\.5 \(verify\): exit code 2/);
  });
});
