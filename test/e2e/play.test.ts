// herd play against a real loopback fleet: the fstab story, consensus gates, serial + max_fail,
// --check, and a parent killed mid-play that a rerun resumes.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { driver, openGate, waitUntil } from './gate.js';
import { readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

/** A directory the fleet user can write, standing in for each host's disk. */
function hostDisk(): string {
  const dir = scratchDir('herd-disk-');
  fs.chmodSync(dir, 0o777);
  return dir;
}

function conn(): string[] {
  return [
    '-u',
    scope.fleet.user,
    '-p',
    String(scope.fleet.port),
    '-k',
    scope.fleet.keyPath,
    '--known-hosts',
    path.join(scope.home, 'kh'),
    '-o',
    path.join(scope.home, 'runs'),
  ];
}

function writeInventory(name: string, hosts: string[]): string {
  const file = path.join(scope.home, name);
  fs.writeFileSync(file, hosts.join('\n') + '\n');
  return file;
}

function writePlaybook(name: string, text: string): string {
  const file = path.join(scope.home, name);
  fs.writeFileSync(file, text);
  return file;
}

function stepsTsv(dir: string): Map<string, string> {
  const rows = fs.readFileSync(path.join(dir, 'steps.tsv'), 'utf8').trim().split('\n').slice(1);
  const map = new Map<string, string>();
  for (const row of rows) {
    const [host, step, , status] = row.split('\t');
    map.set(`${host} ${step}`, status!);
  }
  return map;
}

const lines = (file: string): string[] =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];

describe('the fstab story', () => {
  it('resumes failed hosts at the failed step, never repeats earlier steps, and leaves one fstab line per host', async () => {
    const disk = hostDisk();
    const hosts = scope.fleet.hosts(8, 900);
    const broken = hosts.slice(2, 5);
    for (const h of broken) fs.writeFileSync(path.join(disk, `${h}.broken`), '');
    const book = writePlaybook(
      'fstab.yml',
      `- name: prepare data disks
  vars: { base: "${disk}", mnt: /data }
  steps:
    - name: inspect
      run: echo inspecting
      check: true
    - name: make filesystem
      run: echo mkfs >> {{ base }}/{{ host }}.mkfs
    - name: mount
      run: test ! -e {{ base }}/{{ host }}.broken && echo mounted >> {{ base }}/{{ host }}.mount
    - name: fstab entry
      run: echo '/dev/sdb {{ mnt }} xfs defaults 0 0' >> {{ base }}/{{ host }}.fstab
      unless: grep -q ' {{ mnt }} ' {{ base }}/{{ host }}.fstab
`,
    );
    const inv = writeInventory('fstab.txt', hosts);
    const first = await runHerd(['play', '-i', inv, ...conn(), book], { env: { HOME: scope.home } });
    expect(first.code).toBe(1);
    const firstDir = runDirOf(first);
    const rows = readHostsTsv(firstDir);
    for (const h of hosts) {
      if (broken.includes(h)) expect(rows.get(h)).toMatchObject({ status: 'failed' });
      else expect(rows.get(h)?.status).toBe('ok');
    }
    const steps = stepsTsv(firstDir);
    expect(steps.get(`${broken[0]} 1.3`)).toBe('failed');
    expect(steps.get(`${hosts[0]} 1.4`)).toBe('changed');
    expect(fs.readFileSync(path.join(firstDir, 'hosts.tsv'), 'utf8')).toContain(`${broken[0]}\tfailed\t1\t`);

    for (const h of broken) fs.unlinkSync(path.join(disk, `${h}.broken`));
    const second = await runHerd(['rerun', '-o', path.join(scope.home, 'runs')], { env: { HOME: scope.home } });
    expect(second.stderr).toContain('3 hosts: 3 ok');
    expect(second.code).toBe(0);
    const secondDir = runDirOf(second);
    expect([...readHostsTsv(secondDir).keys()]).toEqual(broken);
    const resumed = stepsTsv(secondDir);
    expect(resumed.get(`${broken[0]} 1.1`)).toBe('already_done');
    expect(resumed.get(`${broken[0]} 1.2`)).toBe('already_done');
    expect(resumed.get(`${broken[0]} 1.3`)).toBe('changed');

    for (const h of hosts) {
      expect(lines(path.join(disk, `${h}.mkfs`))).toHaveLength(1);
      expect(lines(path.join(disk, `${h}.fstab`))).toEqual(['/dev/sdb /data xfs defaults 0 0']);
    }
    // Running the whole play again everywhere is harmless: the guard skips the fstab step.
    const again = await runHerd(['play', '-i', inv, ...conn(), book], { env: { HOME: scope.home } });
    expect(again.code).toBe(0);
    expect(stepsTsv(runDirOf(again)).get(`${hosts[0]} 1.4`)).toBe('skipped');
    for (const h of hosts) expect(lines(path.join(disk, `${h}.fstab`))).toHaveLength(1);
  });
});

describe('consensus gate', () => {
  it('holds back hosts whose inspection differs and runs no later step on them', async () => {
    const disk = hostDisk();
    const hosts = scope.fleet.hosts(7, 950);
    const odd = [hosts[1]!, hosts[4]!];
    for (const h of hosts)
      fs.writeFileSync(
        path.join(disk, `${h}.lsblk`),
        odd.includes(h) ? 'sda disk 100G\nsdm disk 2T\n' : 'sda disk 100G\nsdb disk 2T\n',
      );
    const book = writePlaybook(
      'consensus.yml',
      `name: check before you act
vars: { base: "${disk}" }
steps:
  - name: inspect disks
    run: cat {{ base }}/{{ host }}.lsblk
    check: true
    expect: { consensus: true }
  - name: format
    run: touch {{ base }}/{{ host }}.formatted
`,
    );
    const result = await runHerd(['play', '-i', writeInventory('consensus.txt', hosts), ...conn(), book], {
      env: { HOME: scope.home },
    });
    expect(result.code).toBe(1);
    const rows = readHostsTsv(runDirOf(result));
    for (const h of hosts) {
      expect(rows.get(h)?.status).toBe(odd.includes(h) ? 'diverged' : 'ok');
      expect(fs.existsSync(path.join(disk, `${h}.formatted`))).toBe(!odd.includes(h));
    }
    expect(result.stderr).toContain('HELD BACK');
    expect(result.stderr).toContain('sdm disk 2T');
    // A plain rerun does not touch diverged hosts.
    const rerun = await runHerd(['rerun', '-o', path.join(scope.home, 'runs')], { env: { HOME: scope.home } });
    expect(rerun.stderr).toContain('not resuming');
    for (const h of odd) expect(fs.existsSync(path.join(disk, `${h}.formatted`))).toBe(false);
  });
});

describe('serial batches with max_fail', () => {
  it('stops the play after a failing canary batch; later hosts are not_started', async () => {
    const disk = hostDisk();
    const hosts = scope.fleet.hosts(10, 1000);
    fs.writeFileSync(path.join(disk, `${hosts[1]}.broken`), '');
    const book = writePlaybook(
      'serial.yml',
      `name: canary first
serial: 2
max_fail: 0
vars: { base: "${disk}" }
steps:
  - run: test ! -e {{ base }}/{{ host }}.broken && touch {{ base }}/{{ host }}.done
`,
    );
    const result = await runHerd(['play', '-i', writeInventory('serial.txt', hosts), ...conn(), book], {
      env: { HOME: scope.home },
    });
    expect(result.code).toBe(1);
    const rows = readHostsTsv(runDirOf(result));
    expect(rows.get(hosts[0]!)?.status).toBe('ok');
    expect(rows.get(hosts[1]!)?.status).toBe('failed');
    for (const h of hosts.slice(2)) {
      expect(rows.get(h)?.status).toBe('not_started');
      expect(fs.existsSync(path.join(disk, `${h}.done`))).toBe(false);
    }
    expect(
      fs
        .readFileSync(path.join(runDirOf(result), 'failed.txt'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(9);
  });
});

describe('--check', () => {
  it('changes nothing on any host and reports would_run and would_skip', async () => {
    const disk = hostDisk();
    const hosts = scope.fleet.hosts(4, 1050);
    fs.writeFileSync(path.join(disk, `${hosts[0]}.present`), '');
    const book = writePlaybook(
      'check.yml',
      `name: dry run
vars: { base: "${disk}" }
steps:
  - name: look
    run: ls {{ base }} > /dev/null && echo looked
    check: true
  - name: change
    run: touch {{ base }}/{{ host }}.changed
    creates: "{{ base }}/{{ host }}.present"
`,
    );
    const before = fs.readdirSync(disk).sort();
    const result = await runHerd(['play', '--check', '-i', writeInventory('check.txt', hosts), ...conn(), book], {
      env: { HOME: scope.home },
    });
    expect(result.code).toBe(0);
    expect(fs.readdirSync(disk).sort()).toEqual(before);
    const steps = stepsTsv(runDirOf(result));
    expect(steps.get(`${hosts[0]} 1.1`)).toBe('ok');
    expect(steps.get(`${hosts[0]} 1.2`)).toBe('would_skip');
    expect(steps.get(`${hosts[1]} 1.2`)).toBe('would_run');
    expect(fs.readFileSync(path.join(runDirOf(result), 'steps', '1.1', 'stdout', hosts[2]!), 'utf8')).toBe('looked\n');
  });
});

describe('the herd parent killed mid-play', () => {
  it('leaves a journal that matches what ran, and a rerun resumes at the interrupted guarded step', async () => {
    const disk = hostDisk();
    const hosts = scope.fleet.hosts(5, 1100);
    // Step 2 holds on a gate: herd is killed while it runs on every host, however slow the machine.
    const hold = openGate();
    const book = writePlaybook(
      'killed.yml',
      `name: long step
vars: { base: "${disk}" }
steps:
  - name: first
    run: echo one >> {{ base }}/{{ host }}.first
  - name: slow
    run: |
      ${hold.command('touch {{ base }}/{{ host }}.slow')}
    creates: "{{ base }}/{{ host }}.slow"
  - name: last
    run: echo three >> {{ base }}/{{ host }}.last
`,
    );
    const inv = writeInventory('killed.txt', hosts);
    const journal = path.join(scope.home, 'runs-kill', 'latest', 'journal.ndjson');
    const args = ['play', '-i', inv, ...conn().slice(0, -2), '-o', path.join(scope.home, 'runs-kill'), book];
    const run = driver(async (child) => {
      await waitUntil(() => hold.started().length === hosts.length, 'step 2 to run on every host');
      child.kill('SIGKILL');
    });
    const killed = await runHerd(args, { env: { HOME: scope.home }, onSpawn: run.onSpawn });
    expect(run.failure()).toBeUndefined();
    expect(killed.signal).toBe('SIGKILL');
    const entries = fs
      .readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const stepDone = entries.filter((e) => e.kind === 'step_done');
    expect(stepDone.every((e) => e.step === 1 && e.status === 'changed')).toBe(true);
    expect(entries.some((e) => e.kind === 'host_done')).toBe(false);
    for (const h of hosts) expect(lines(path.join(disk, `${h}.first`))).toHaveLength(1);

    hold.release(); // the rerun's step 2 must not wait (the killed run's held commands may finish too)
    const rerun = await runHerd(['rerun', '-o', path.join(scope.home, 'runs-kill')], {
      env: { HOME: scope.home },
      timeoutMs: 60_000,
    });
    expect(rerun.stderr).toContain(`${hosts.length} hosts: ${hosts.length} ok`);
    for (const h of hosts) {
      expect(lines(path.join(disk, `${h}.first`))).toHaveLength(1);
      expect(lines(path.join(disk, `${h}.last`))).toHaveLength(1);
      expect(fs.existsSync(path.join(disk, `${h}.slow`))).toBe(true);
    }
  });
});

describe('the example playbooks', () => {
  it('run on the loopback fleet: data disks twice without duplicating fstab lines, deploy, then collect logs', async () => {
    const { ROOT } = await import('./herd-cli.js');
    const hosts = scope.fleet.hosts(6, 1200);
    const inv = writeInventory('examples.txt', hosts);
    const work = scratchDir('herd-examples-');
    const book = (name: string): string => path.join(ROOT, 'playbooks', name);
    try {
      const disks = await runHerd(['play', '-i', inv, ...conn(), book('data-disks.yml')], {
        env: { HOME: scope.home },
        cwd: work,
      });
      expect(disks.stderr).toContain('6 hosts: 6 ok');
      const again = await runHerd(['play', '-i', inv, ...conn(), book('data-disks.yml')], {
        env: { HOME: scope.home },
        cwd: work,
      });
      expect(again.stderr).toContain('6 hosts: 6 ok');
      const steps = stepsTsv(runDirOf(again));
      expect(steps.get(`${hosts[0]} 1.4`)).toBe('skipped');
      for (const h of hosts) expect(lines(`/tmp/herd-demo-${h}.fstab`)).toHaveLength(1);

      const deploy = await runHerd(['play', '-i', inv, ...conn(), book('deploy.yml')], {
        env: { HOME: scope.home },
        cwd: work,
      });
      expect(deploy.stderr).toContain('6 hosts: 6 ok');
      expect(fs.statSync(`/tmp/herd-demo-app-${hosts[0]}/bin/app`).mode & 0o777).toBe(0o755);

      const collect = await runHerd(['play', '-i', inv, ...conn(), book('collect-logs.yml')], {
        env: { HOME: scope.home },
        cwd: work,
      });
      expect(collect.stderr).toContain('6 hosts: 6 ok');
      for (const h of hosts) {
        expect(fs.readFileSync(path.join(work, 'collected', h, 'VERSION'), 'utf8')).toBe('1.4.2\n');
        expect(fs.existsSync(path.join(work, 'collected', h, 'restarted'))).toBe(true);
      }
    } finally {
      for (const h of hosts) {
        for (const suffix of ['disk', 'fstab']) fs.rmSync(`/tmp/herd-demo-${h}.${suffix}`, { force: true });
        for (const dir of [`/tmp/herd-demo-${h}.mnt`, `/tmp/herd-demo-app-${h}`])
          fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

describe('become', () => {
  it('runs steps as root through a real sudo that wants a password, which appears nowhere', async () => {
    const { enableSudoWithPassword } = await import('../fleet/sudo.js');
    const cleanup = enableSudoWithPassword(scope.fleet);
    if (cleanup === null) return; // not root or no sudo: nothing to prove here
    try {
      const disk = hostDisk();
      const hosts = scope.fleet.hosts(3, 1300);
      const book = writePlaybook(
        'become.yml',
        `name: as root
vars: { base: "${disk}" }
steps:
  - name: who am i
    run: id -u > {{ base }}/{{ host }}.uid && cat -A /dev/stdin < /dev/null
    become: true
  - name: guarded as root
    run: touch {{ base }}/{{ host }}.rootfile
    creates: "{{ base }}/{{ host }}.rootfile"
    become: true
`,
      );
      const out = path.join(scope.home, 'runs-become');
      const args = [
        'play',
        '-i',
        writeInventory('become.txt', hosts),
        ...conn().slice(0, -2),
        '-o',
        out,
        '--become-pass-env',
        'HERD_SUDO',
        book,
      ];
      const result = await runHerd(args, { env: { HOME: scope.home, HERD_SUDO: scope.fleet.password } });
      expect(result.stderr).toContain('3 hosts: 3 ok');
      for (const h of hosts) {
        expect(fs.readFileSync(path.join(disk, `${h}.uid`), 'utf8').trim()).toBe('0');
        expect(fs.statSync(path.join(disk, `${h}.rootfile`)).uid).toBe(0);
      }
      expect(result.stdout + result.stderr).not.toContain(scope.fleet.password!);
      for (const f of fs.readdirSync(out, { recursive: true }).map(String)) {
        const full = path.join(out, f);
        if (fs.statSync(full).isFile()) expect(fs.readFileSync(full, 'utf8')).not.toContain(scope.fleet.password!);
      }
      // A wrong password fails the step, and nothing runs as root.
      const wrong = await runHerd(
        args.map((a) => (a === out ? `${out}-wrong` : a)),
        { env: { HOME: scope.home, HERD_SUDO: 'wrong-password' } },
      );
      expect(wrong.code).toBe(1);
      const rows = readHostsTsv(runDirOf(wrong));
      for (const h of hosts)
        expect(rows.get(h)).toMatchObject({ status: 'failed', reason: expect.stringContaining('step 1.1') });
    } finally {
      cleanup();
    }
  });
});

describe('become at play level, become_user (as Ansible writes them)', () => {
  it('become: yes on the play runs every step through sudo, become_user picks the account, become: no opts out', async () => {
    const { enableSudoWithPassword } = await import('../fleet/sudo.js');
    const cleanup = enableSudoWithPassword(scope.fleet);
    if (cleanup === null) return; // not root or no sudo: nothing to prove here
    try {
      const disk = hostDisk();
      fs.chmodSync(disk, 0o1777); // nobody writes there too
      const hosts = scope.fleet.hosts(2, 1310);
      const book = writePlaybook(
        'become-play.yml',
        `name: as others
become: yes
become_user: nobody
vars: { base: "${disk}" }
steps:
  - name: as nobody
    run: id -un > {{ base }}/{{ host }}.play
  - name: as root
    run: id -un > {{ base }}/{{ host }}.root
    become_user: root
  - name: as the login user
    run: id -un > {{ base }}/{{ host }}.login
    become: no
`,
      );
      const result = await runHerd(
        [
          'play',
          '-i',
          writeInventory('become-play.txt', hosts),
          ...conn().slice(0, -2),
          '--become-pass-env',
          'HERD_SUDO',
          book,
        ],
        { env: { HOME: scope.home, HERD_SUDO: scope.fleet.password } },
      );
      expect(result.stderr).toContain('2 hosts: 2 ok');
      for (const h of hosts) {
        const read = (ext: string) => fs.readFileSync(path.join(disk, `${h}.${ext}`), 'utf8').trim();
        expect([read('play'), read('root'), read('login')]).toEqual(['nobody', 'root', scope.fleet.user]);
      }
    } finally {
      cleanup();
    }
  });
});

describe('script steps', () => {
  it('upload a local script, run it with its arguments, and remove it from the host', async () => {
    const disk = hostDisk();
    const scriptDir = scratchDir('herd-script-');
    fs.writeFileSync(
      path.join(scriptDir, 'probe.sh'),
      '#!/bin/sh\necho "probe $1 on $(hostname)" > "$2"\necho "$0"\n',
      { mode: 0o644 },
    );
    const hosts = scope.fleet.hosts(3, 1600);
    const book = path.join(scriptDir, 'script.yml');
    fs.writeFileSync(book, `steps:\n  - script: probe.sh\n    args: "{{ host }} ${disk}/{{ host }}.probe"\n`);
    const result = await runHerd(['play', '-i', writeInventory('script.txt', hosts), ...conn(), book], {
      env: { HOME: scope.home },
    });
    expect(result.stderr).toContain('3 hosts: 3 ok');
    for (const h of hosts) {
      expect(fs.readFileSync(path.join(disk, `${h}.probe`), 'utf8')).toMatch(
        new RegExp(`^probe ${h.replace(/\./g, '\\.')} on `),
      );
      const uploadedAs = fs.readFileSync(path.join(runDirOf(result), 'steps', '1.1', 'stdout', h), 'utf8').trim();
      expect(uploadedAs).toMatch(/^\/tmp\/\.herd-script-[0-9a-f]+$/);
      expect(fs.existsSync(uploadedAs)).toBe(false);
    }
  });
});

describe('{{ run_id }}', () => {
  it('is the id of the run directory the run writes', async () => {
    const hosts = scope.fleet.hosts(2, 940);
    const book = writePlaybook('runid.yml', '- steps:\n    - name: say id\n      run: echo "id={{ run_id }}"\n');
    const r = await runHerd(['play', '-i', writeInventory('runid.txt', hosts), ...conn(), '-q', book], {
      env: { HOME: scope.home },
    });
    expect(r.code).toBe(0);
    const dir = runDirOf(r);
    for (const h of hosts)
      expect(fs.readFileSync(path.join(dir, 'steps', '1.1', 'stdout', h), 'utf8')).toBe(`id=${path.basename(dir)}\n`);
  });
});
