// `npm run demo` is the README's first command: it must tell the whole story, exit 0, and clean up
// only what it created (its own sshd, its own scratch directory).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './herd-cli.js';

const SECTIONS = [
  '== 1. A fleet: 12 hosts, one port that refuses, one login that does not exist',
  '== 2. Run a command everywhere: one group per distinct output, failures grouped by reason',
  '== 3. Results made for grep and awk; failed.txt is itself an inventory',
  '== 4. A check fails on the db hosts; once they are fixed, herd rerun takes exactly failed.txt',
  '== 5. Look before you act: which hosts differ? (herd show, herd diff)',
  '== 6. A consensus gate holds back the two hosts whose disk layout differs (playbooks/data-disks.yml)',
  '== 7. Push a tree to the web hosts, pull it back into collected/<host>/',
  '== 8. Ctrl-C: nothing new starts, running commands get --grace seconds, every result file is complete',
  "== 9. Clean-up: stop this demo's sshd by pid and remove its directory",
];

// Named like the demo's own directory: the clean-up must leave it alone.
const decoy = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-demo-'));
afterAll(() => fs.rmSync(decoy, { recursive: true, force: true }));

function pidGone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

describe('npm run demo', () => {
  it('tells every section, exits 0, stays short, and removes only what it created', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'test', 'fleet', 'demo.js')], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 150_000,
    });
    const out = r.stdout + r.stderr;
    expect(r.status, out).toBe(0);
    let at = 0;
    for (const heading of SECTIONS) {
      const found = r.stdout.indexOf(heading, at);
      expect(found, `missing or out of order: ${heading}\n${out}`).toBeGreaterThan(at - 1);
      at = found;
    }
    expect(out).not.toMatch(/demo: expected exit/);
    // What each section promises, as herd printed it.
    expect(r.stderr).toMatch(/14 hosts: 12 ok, 1 unreachable, 1 auth_failed/);
    expect(r.stderr).toMatch(/4 hosts: 2 ok, 1 unreachable, 1 auth_failed/); // the rerun: only failed.txt
    expect(r.stdout).toMatch(/DIFFERS 2 hosts exit 0: 127\.0\.30\.\[5-6\]/);
    expect(r.stderr).toMatch(/\[HELD BACK\] 2 hosts: 127\.0\.30\.\[5-6\]/);
    expect(r.stdout).toMatch(/4 1\.4\tskipped/); // the fstab step, not repeated
    expect(r.stderr).toMatch(/10 hosts: 4 interrupted, 6 not_started/);
    expect(r.stdout).toMatch(/herd exited 130/);
    // Commands are shown as typed, long values as the shell variables the story defined.
    expect(r.stdout).toContain(
      '$ herd play -F ssh_config -i fleet.txt -l storage -e "lsblk=$LSBLK" -e "dev=$D/{{ host }}.disk"',
    );
    expect(r.stdout).toMatch(/^# a stand-in for lsblk, keyed on the address: LSBLK='case /m);
    // Nothing floods the screen.
    expect(out.split('\n').length).toBeLessThan(260);
    // Its clean-up: its own sshd and directory are gone; a stranger's herd-demo-* directory is not.
    const [, pid, work] = /sshd (\d+) stopped; (\S+) removed/.exec(r.stdout) ?? [];
    expect(pidGone(Number(pid))).toBe(true);
    expect(fs.existsSync(work!)).toBe(false);
    expect(fs.existsSync(decoy)).toBe(true);
    console.log(`demo took ${Date.now() - started} ms`);
  }, 180_000);
});
