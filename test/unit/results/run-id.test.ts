import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { createRunDir, newRunId } from '../../../src/results/run-id.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-runid-'));
  dirs.push(d);
  return d;
}

describe('run ids', () => {
  it('carry at least 4 random bytes after the millisecond stamp', () => {
    const id = newRunId(new Date('2026-11-24T10:34:55.123Z'));
    expect(id).toMatch(/^20261124T103455\.123Z-[0-9a-f]{8,}$/);
  });

  it('a run started in the same millisecond as another gets its own directory (exclusive mkdir, retry on EEXIST)', () => {
    const out = scratch();
    const now = new Date('2026-11-24T10:34:55.123Z');
    // The random source first repeats what the other run drew, then differs.
    const draws = [Buffer.alloc(16, 0xab), Buffer.alloc(16, 0xab), Buffer.alloc(16, 0xcd)];
    const random = (n: number): Buffer => draws.shift()!.subarray(0, n);
    const taken = newRunId(now, () => Buffer.alloc(16, 0xab));
    fs.mkdirSync(path.join(out, taken));
    fs.writeFileSync(path.join(out, taken, 'run.json'), '{"other":true}');
    const mine = createRunDir(out, { now: () => now, random });
    expect(mine.id).not.toBe(taken);
    expect(mine.dir).toBe(path.join(out, mine.id));
    expect(fs.statSync(mine.dir).isDirectory()).toBe(true);
    expect(fs.statSync(mine.dir).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(mine.dir)).toEqual([]);
    expect(fs.readFileSync(path.join(out, taken, 'run.json'), 'utf8')).toBe('{"other":true}');
  });

  it('gives up with a clear error when every id it draws is taken', () => {
    const out = scratch();
    const now = new Date('2026-11-24T10:34:55.123Z');
    const random = (n: number): Buffer => Buffer.alloc(n, 1);
    fs.mkdirSync(path.join(out, newRunId(now, random)));
    expect(() => createRunDir(out, { now: () => now, random })).toThrow(/run directory/);
  });
});

describe('run ids in order', () => {
  it('sort as plain strings in start order, so ls and sort list runs as they ran', () => {
    const times = [
      '2026-01-02T00:00:00.000Z',
      '2026-01-01T23:59:59.999Z',
      '2026-11-24T10:34:55.123Z',
      '2026-11-24T10:34:55.124Z',
      '2027-01-01T00:00:00.000Z',
    ];
    const ids = times.map((t) => newRunId(new Date(t)));
    expect([...ids].sort()).toEqual([ids[1], ids[0], ids[2], ids[3], ids[4]]);
  });

  it('an output directory that cannot be made is a usage error in words, before any host', () => {
    const out = scratch();
    fs.writeFileSync(path.join(out, 'file'), '');
    let error: unknown;
    try {
      createRunDir(path.join(out, 'file', 'runs'));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('E_RUN_DIR');
    expect((error as Error).message).toMatch(
      new RegExp(`^cannot create a run directory in ${path.join(out, 'file', 'runs')}: `),
    );
    expect((error as Error).message).not.toMatch(/ENOTDIR|errno/);
  });
});
