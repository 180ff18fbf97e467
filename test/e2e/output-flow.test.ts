// Backpressure never costs output: when the parent is behind, a host's channel is paused, and the
// command may end (its channel closes) while output is still held in the paused streams. All of it
// must reach the host's files before the host's result is recorded.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fleetArgs, writeInventory } from './fleet-args.js';
import { readHostsTsv, runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

describe('output held back by backpressure', () => {
  it('is all in stderr/<host> when the command ended while its channel was paused', async () => {
    const hosts = scope.fleet.hosts(2, 2600);
    const inv = writeInventory(scope, 'flow.txt', hosts);
    const lines = Array.from({ length: 7 }, (_, i) => `line ${i + 1}`);
    // Separate writes, so the output arrives as several chunks, each held; stderr only, as a failing
    // command prints (ssh2 closes the channel once stdout has ended, whatever stderr still holds).
    const command = lines.map((l) => `echo "${l}" >&2; sleep 0.05`).join('; ') + '; exit 2';
    const result = await runHerd(['run', '-i', inv, ...fleetArgs(scope, 'runs-flow'), command], {
      env: { HOME: scope.home, HERD_TEST_SLOW_OUTPUT: hosts[0] },
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(1);
    const dir = runDirOf(result);
    for (const h of hosts) {
      expect(readHostsTsv(dir).get(h)).toMatchObject({ status: 'failed', exit: '2' });
      expect(fs.readFileSync(path.join(dir, 'stderr', h), 'utf8'), h).toBe(lines.join('\n') + '\n');
    }
  });
});
