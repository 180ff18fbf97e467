// The README's "A five-minute tour", run as written: its code block is read out of README.md, so the
// tour cannot drift from what works. `npm run fleet` is the same script npm runs (node dist/test/fleet/fleet-cli.js),
// started in a scratch directory instead of the checkout so a developer's own fleet/ and runs/ are left alone.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HERD_BIN, ROOT, removeScratchDirs, scratchDir } from './herd-cli.js';

const FLEET_CLI = path.join(ROOT, 'dist', 'test', 'fleet', 'fleet-cli.js');

/** The lines of the tour's first sh block, comments after two spaces stripped, blank lines dropped. */
function tourLines(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## A five-minute tour'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README: no sh block under "## A five-minute tour"');
  return block
    .split('\n')
    .map((line) => line.replace(/\s{2,}#.*$/, '').trim())
    .filter((line) => line !== '');
}

interface Step {
  line: string;
  code: number;
  stdout: string;
  stderr: string;
}

function sh(cwd: string, line: string, env: NodeJS.ProcessEnv): Step {
  const r = spawnSync('bash', ['-c', line], { cwd, env, encoding: 'utf8', timeout: 60_000, input: '' });
  return { line, code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The sshd pid is gone: no process, or a zombie nobody reaped (its parent, `npm run fleet`, exited long ago). */
function pidGone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

let work: string | undefined;

afterAll(() => {
  // Backstop when an assertion stopped the tour before its last line.
  if (work && fs.existsSync(path.join(work, 'fleet', 'fleet.json'))) {
    execFileSync(process.execPath, [FLEET_CLI, 'stop'], { cwd: work, stdio: 'ignore' });
  }
  removeScratchDirs();
});

describe('README tour', () => {
  it('runs as written against `npm run fleet`, and `npm run fleet -- stop` leaves nothing running', () => {
    const lines = tourLines(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    work = scratchDir('herd-tour-');
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: work, NO_COLOR: '1' };
    delete env['SSH_AUTH_SOCK'];
    const steps: Step[] = [];
    let pid: number | undefined;
    let sshdDir: string | undefined;
    for (const line of lines) {
      if (line === 'npm ci && npm run build') continue; // done before the e2e tests; npm ci is not ours to run
      if (line === 'export PATH=$PWD/bin:$PATH') {
        env['PATH'] = `${path.dirname(HERD_BIN)}:${env['PATH']}`;
        continue;
      }
      const npmFleet = /^npm run fleet(?: -- (\w+))?$/.exec(line);
      if (line.startsWith('npm ') && !npmFleet)
        throw new Error(`the tour has an npm line this test does not know: ${line}`);
      const step = npmFleet ? sh(work, `node ${FLEET_CLI} ${npmFleet[1] ?? ''}`, env) : sh(work, line, env);
      steps.push(step);
      if (npmFleet && !npmFleet[1]) {
        pid = Number(fs.readFileSync(path.join(work, 'fleet', 'sshd.pid'), 'utf8'));
        sshdDir = (JSON.parse(fs.readFileSync(path.join(work, 'fleet', 'fleet.json'), 'utf8')) as { sshdDir: string })
          .sshdDir;
        // The real OpenSSH client is the oracle for the ssh_config the fleet wrote.
        const ssh = sh(work, 'ssh -F fleet/ssh_config -o BatchMode=yes 127.0.10.1 echo via-openssh', env);
        expect(ssh.stdout + ssh.stderr).toContain('via-openssh');
        // Idempotent: a second start says so and starts nothing.
        const again = sh(work, `node ${FLEET_CLI}`, env);
        expect(again.stdout).toContain(`already running: sshd pid ${pid}`);
        expect(sh(work, `node ${FLEET_CLI} status`, env).code).toBe(0);
      }
    }
    const byLine = (prefix: string): Step => {
      const found = steps.find((s) => s.line.startsWith(prefix));
      if (!found) throw new Error(`the tour no longer has a line starting "${prefix}"`);
      return found;
    };
    const report = steps.map((s) => `$ ${s.line}\n[exit ${s.code}]\n${s.stdout}${s.stderr}`).join('\n');
    for (const s of steps) {
      // The down host makes run and rerun exit 1; nothing may be a usage error or a missing command.
      expect(s.code === 0 || (/^herd (run|rerun)\b|\| herd run/.test(s.line) && s.code === 1), report).toBe(true);
      expect(s.stderr, report).not.toMatch(/command not found|No such file|error:/i);
    }
    expect(byLine('herd hosts').stdout.trim().split('\n')).toEqual(
      Array.from({ length: 8 }, (_, i) => `127.0.10.${i + 1}`),
    );
    expect(byLine('herd run -F fleet/ssh_config -i fleet/inventory.txt uptime').stderr).toMatch(
      /19 hosts: 18 ok, 1 unreachable/,
    );
    expect(byLine('cat runs/latest/failed.txt').stdout).toBe('127.0.0.1:1\n');
    expect(byLine("awk -F'\\t' '$2==\"unreachable\"'").stdout).toMatch(
      /^127\.0\.0\.1:1\tunreachable\t.*connection refused/,
    );
    expect(byLine("grep -l 'load average'").stdout.trim()).toBe('18');
    expect(byLine('herd show --status unreachable').stdout).toBe('127.0.0.1:1\n');
    expect(byLine("awk -F'\\t' '$2==\"ok\"").stdout).toBe([1, 2, 3, 4, 5, 6].map((d) => `127.0.30.${d}\n`).join(''));
    expect(byLine('herd rerun').stderr).toMatch(/1 host: 1 unreachable/);
    expect(byLine('herd runs').stdout.trim().split('\n')).toHaveLength(2);

    // The last line stopped the fleet: its sshd is gone and fleet/ with it.
    expect(lines.at(-1)).toBe('npm run fleet -- stop');
    expect(pid).toBeGreaterThan(0);
    expect(pidGone(pid!)).toBe(true);
    expect(fs.existsSync(path.join(work, 'fleet'))).toBe(false);
    expect(fs.existsSync(sshdDir!)).toBe(false);
    expect(sh(work, `node ${FLEET_CLI} status`, env).code).toBe(1);
  });

  it('refuses an unknown action with exit 2, before starting anything', () => {
    const dir = scratchDir('herd-tour-');
    const r = spawnSync(process.execPath, [FLEET_CLI, 'strat'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown action "strat"');
    expect(fs.existsSync(path.join(dir, 'fleet'))).toBe(false);
  });
});
