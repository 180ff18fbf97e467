// Which keeper a command may use: one of its own build only. A build is told apart by its worker module's file,
// whose change time moves with every install even when the modification times are the package's fixed ones.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIdentity } from '../../../src/keeper/key.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-keeper-key-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('a keeper build identity', () => {
  it('is the same for the same file, and changes when it is rewritten with its size and mtime put back', () => {
    const file = path.join(scratch, 'worker.js');
    const times = path.join(scratch, 'times');
    fs.writeFileSync(file, 'one\n');
    fs.writeFileSync(times, '');
    // An npm package's files carry one fixed mtime: an upgrade keeps the path, and may keep the size and mtime.
    expect(spawnSync('touch', ['-d', '1985-10-26 08:15:00', file]).status).toBe(0);
    expect(spawnSync('touch', ['-r', file, times]).status).toBe(0);
    const first = buildIdentity(file);
    expect(buildIdentity(file)).toBe(first);
    // Past one tick of a kernel clock that stamps change times coarsely.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    fs.writeFileSync(file, 'two\n');
    expect(spawnSync('touch', ['-r', times, file]).status).toBe(0);
    expect(buildIdentity(file)).not.toBe(first);
    // Unreadable: the path alone, never a throw.
    expect(buildIdentity(path.join(scratch, 'missing.js'))).toBe(path.join(scratch, 'missing.js'));
  });
});
