// A host's code says what really happened, wherever it happened: inside a playbook step, in the
// middle of a transfer, on a channel the host refused after earlier steps ran.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { childPids, readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

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

function file(name: string, text: string): string {
  const full = path.join(scope.home, name);
  fs.writeFileSync(full, text);
  return full;
}

/** The journal's events of one kind, as written by the real engine. */
function journal(dir: string, kind: string): Record<string, unknown>[] {
  return fs
    .readFileSync(path.join(dir, 'journal.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e['kind'] === kind);
}

function hostCode(dir: string, host: string): unknown {
  return journal(dir, 'host_done').find((e) => e['id'] === host)?.['code'];
}

describe('codes inside playbook steps', () => {
  it('an --idle-timeout in a step keeps E_IDLE_TIMEOUT on the step and the host', async () => {
    const [host] = scope.fleet.hosts(1, 3000);
    const inv = file('idle.txt', `${host}\n`);
    const book = file(
      'idle.yml',
      `- name: quiet
  steps:
    - name: first
      run: echo started
    - name: silent
      run: sleep 30
`,
    );
    const result = await runHerd(['play', '-i', inv, ...conn(), '--idle-timeout', '1', book], {
      env: { HOME: scope.home },
      timeoutMs: 30_000,
    });
    expect(result.code).toBe(1);
    const dir = runDirOf(result);
    expect(readHostsTsv(dir).get(host!)?.status).toBe('timeout');
    expect(hostCode(dir, host!)).toBe('E_IDLE_TIMEOUT');
    const step = journal(dir, 'step_done').find((e) => e['step'] === 2);
    expect(step).toMatchObject({ status: 'timeout', code: 'E_IDLE_TIMEOUT' });
  });

  it('a non-zero exit in a step is E_EXIT, not a generic step code', async () => {
    const [host] = scope.fleet.hosts(1, 3005);
    const inv = file('exit.txt', `${host}\n`);
    const book = file(
      'exit.yml',
      `- name: exits
  steps:
    - name: fails
      run: exit 4
`,
    );
    const result = await runHerd(['play', '-i', inv, ...conn(), book], {
      env: { HOME: scope.home },
      timeoutMs: 30_000,
    });
    const dir = runDirOf(result);
    expect(readHostsTsv(dir).get(host!)).toMatchObject({ status: 'failed', exit: '4' });
    expect(hostCode(dir, host!)).toBe('E_EXIT');
  });

  it('a session channel the host refuses after earlier steps ran is a failed step with E_CHANNEL, not unreachable', async () => {
    const [host] = scope.fleet.hosts(1, 3010);
    const inv = file('channel.txt', `${host}\n`);
    // A real refusal: the step lowers the process limit of the sshd process serving this connection
    // (it runs as the login user), so sshd cannot fork the next session and refuses the channel.
    const book = file(
      'channel.yml',
      `- name: limits
  steps:
    - name: exhaust
      run: |
        p=$$
        while :; do
          p=$(cut -d' ' -f4 /proc/$p/stat)
          case "$(cat /proc/$p/comm)" in sshd*) break;; esac
        done
        prlimit --pid "$p" --nproc=0:0
    - name: after
      run: echo never
`,
    );
    const result = await runHerd(['play', '-i', inv, ...conn(), book], {
      env: { HOME: scope.home },
      timeoutMs: 30_000,
    });
    expect(result.code).toBe(1);
    const dir = runDirOf(result);
    const row = readHostsTsv(dir).get(host!);
    expect(row?.status).toBe('failed');
    expect(row?.reason).toMatch(
      /^step 1\.2 \(after\): could not open a session channel: .* \(after earlier steps ran on this host\)$/,
    );
    expect(hostCode(dir, host!)).toBe('E_CHANNEL');
    expect(journal(dir, 'step_done').map((e) => [e['step'], e['status']])).toEqual([
      [1, 'changed'],
      [2, 'failed'],
    ]);
  });
});

describe('codes of transfers', () => {
  it('a pull of a path the host does not have is E_NO_SUCH_FILE', async () => {
    const [host] = scope.fleet.hosts(1, 3020);
    const inv = file('missing.txt', `${host}\n`);
    const result = await runHerd(
      ['pull', '-i', inv, ...conn(), `/nonexistent-${process.pid}`, scratchDir('herd-back-')],
      { env: { HOME: scope.home } },
    );
    const dir = runDirOf(result);
    expect(readHostsTsv(dir).get(host!)?.status).toBe('failed');
    expect(hostCode(dir, host!)).toBe('E_NO_SUCH_FILE');
  });

  it('a connection cut mid-transfer is E_CONNECTION_LOST', async () => {
    const src = scratchDir('herd-big-');
    const big = path.join(src, 'big.bin');
    fs.writeFileSync(big, Buffer.alloc(300 * 1024 * 1024, 7));
    const remoteBase = scratchDir('herd-remote-');
    fs.chmodSync(remoteBase, 0o777);
    const [host] = scope.fleet.hosts(1, 3030);
    const inv = file('cut.txt', `${host}\n`);
    // The temporary name is random (.big.bin.<hex>.herd-tmp): found by its shape.
    const tempOf = (): string | undefined =>
      fs.readdirSync(remoteBase).find((n) => /^\.big\.bin\.[0-9a-f]+\.herd-tmp$/.test(n));
    let cut = false;
    const result = await runHerd(['push', '-i', inv, ...conn(), big, `${remoteBase}/big.bin`], {
      env: { HOME: scope.home },
      timeoutMs: 120_000,
      onSpawn: () => {
        const timer = setInterval(() => {
          const temp = tempOf();
          if (temp !== undefined && fs.statSync(path.join(remoteBase, temp)).size > 10 * 1024 * 1024) {
            clearInterval(timer);
            // The sshd processes serving this connection: everything under this file's own sshd.
            const victims: number[] = [];
            const walk = (pid: number): void => childPids(pid).forEach((c) => (victims.push(c), walk(c)));
            walk(scope.fleet.pid);
            for (const pid of victims) process.kill(pid, 'SIGKILL');
            cut = true;
          }
        }, 20);
      },
    });
    expect(cut).toBe(true);
    const dir = runDirOf(result);
    expect(readHostsTsv(dir).get(host!)).toMatchObject({
      status: 'failed',
      reason: 'connection lost during the transfer',
    });
    expect(hostCode(dir, host!)).toBe('E_CONNECTION_LOST');
  });

  it('a hostile name that would land outside the destination is E_UNSAFE_PATH', async () => {
    const { startHostileSftp } = await import('../fleet/hostile-sftp.js');
    const server = await startHostileSftp(['fine.txt', '../../escaped']);
    try {
      const id = `${server.host}:${server.port}`;
      const inv = file('hostile.txt', `${id}\n`);
      const result = await runHerd(
        [
          'pull',
          '-i',
          inv,
          '-u',
          'x',
          '--password-env',
          'HOSTILE_PW',
          '--known-hosts',
          path.join(scope.home, 'kh-hostile'),
          '-o',
          path.join(scope.home, 'runs'),
          '/data',
          path.join(scratchDir('herd-hostile-'), 'pulled'),
        ],
        { env: { HOME: scope.home, HOSTILE_PW: 'anything' } },
      );
      const dir = runDirOf(result);
      expect(readHostsTsv(dir).get(id)?.status).toBe('failed');
      expect(hostCode(dir, id)).toBe('E_UNSAFE_PATH');
    } finally {
      await server.close();
    }
  });
});
