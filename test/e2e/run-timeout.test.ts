// --timeout: the host is recorded when the limit hit (not after the remote kill), and the remote
// processes herd says it killed are really gone when it says so.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidsWith, runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

function hostsTsvRows(dir: string): Map<string, { status: string; durationMs: number; reason: string }> {
  const [, ...lines] = fs.readFileSync(path.join(dir, 'hosts.tsv'), 'utf8').trim().split('\n');
  return new Map(
    lines
      .map((l) => l.split('\t'))
      .map(([host, status, , duration, reason]) => [
        host!,
        { status: status!, durationMs: Number(duration), reason: reason! },
      ]),
  );
}

describe('--timeout', () => {
  it('records the host at the moment the limit hit, and its remote processes are gone when herd says so', async () => {
    const hosts = scope.fleet.hosts(3, 2100);
    const inv = path.join(scope.home, 'timeout.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const token = `${process.pid}${String(Date.now()).slice(-6)}`;
    // A background child and a foreground one: both must be found and killed.
    const command = `sleep 61.${token} & sleep 60.${token}; echo never`;
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
        path.join(scope.home, 'kh'),
        '-o',
        path.join(scope.home, 'runs'),
        '--timeout',
        '2',
        command,
      ],
      { env: { HOME: scope.home }, timeoutMs: 30_000 },
    );
    const left = pidsWith(token);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    expect(left).toEqual([]);
    expect(result.code).toBe(1);
    const rows = hostsTsvRows(runDirOf(result));
    for (const h of hosts) {
      const row = rows.get(h)!;
      expect(row.status).toBe('timeout');
      expect(row.reason).toMatch(/^command exceeded --timeout 2s; remote processes killed: [2-9] \(verified gone\)$/);
      // The subject is a timeout, so a bound is the behaviour: never before the 2 s limit; the upper bound
      // (connect time plus the limit) only catches a limit that fires far too late, with slack for a loaded
      // machine's handshakes (the old 1 s margin was less than one slow connect). The 60 s sleeps stay far off.
      expect(row.durationMs).toBeGreaterThanOrEqual(2_000);
      expect(row.durationMs).toBeLessThan(10_000);
    }
  });
});
