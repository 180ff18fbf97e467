// Bounded reads of a run's output files: whatever sits at the path (a 64 GiB file, a symlink, a FIFO,
// a directory), herd show and herd report read a head or nothing, and never wait.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failureStderrHeads, readHead, stderrPath } from '../../../src/results/output-head.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-head-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('readHead', () => {
  it('reads only a head of a huge stderr file', () => {
    const file = path.join(tmp, 'huge');
    fs.writeFileSync(file, 'first line\n');
    fs.truncateSync(file, 64 * 1024 ** 3); // sparse 64 GiB: reading it whole would not end in time
    const got = readHead(file)!;
    expect(got).toMatchObject({ bytes: 64 * 1024 ** 3, headBytes: 4096 });
    expect(got.text.startsWith('first line\n')).toBe(true);
    expect(readHead(file, 5)).toEqual({ text: 'first', bytes: 64 * 1024 ** 3, headBytes: 5 });
  });

  it('is null for a missing file, a directory, and a symlink even to a real file', () => {
    const real = path.join(tmp, 'real');
    fs.writeFileSync(real, 'secret\n');
    fs.symlinkSync(real, path.join(tmp, 'link'));
    expect(readHead(path.join(tmp, 'missing'))).toBeNull();
    expect(readHead(tmp)).toBeNull();
    expect(readHead(path.join(tmp, 'link'))).toBeNull();
    expect(readHead(real)).toEqual({ text: 'secret\n', bytes: 7, headBytes: 7 });
  });

  it('is null for a FIFO at once, rather than waiting for a writer that never comes', async () => {
    const fifo = path.join(tmp, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Should the open wait for a writer, this one comes after 3 s, so a regression fails instead of hanging.
    const writer = spawn('sh', ['-c', `sleep 3; exec 3>"$1"`, 'sh', fifo], { stdio: 'ignore' });
    try {
      const started = Date.now();
      expect(readHead(fifo)).toBeNull();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      writer.kill('SIGKILL');
    }
  });
});

describe('failure stderr heads', () => {
  it('reads the stderr of each host that is not ok and has one; a playbook host its failed step', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'run-'));
    fs.mkdirSync(path.join(dir, 'stderr'));
    fs.mkdirSync(path.join(dir, 'steps', '1.2', 'stderr'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'stderr', 'ok1'), 'noise\n');
    fs.writeFileSync(path.join(dir, 'stderr', 'fail1'), 'boom\n');
    fs.writeFileSync(path.join(dir, 'stderr', 'quiet1'), '');
    fs.writeFileSync(path.join(dir, 'steps', '1.2', 'stderr', 'pb1'), 'step boom\n');
    const base = { exitCode: 1, durationMs: 1, reason: 'exit code 1' };
    const heads = failureStderrHeads(dir, [
      { ...base, id: 'ok1', status: 'ok', exitCode: 0, reason: '' },
      { ...base, id: 'fail1', status: 'failed' },
      { ...base, id: 'quiet1', status: 'failed' },
      { ...base, id: 'gone1', status: 'unreachable' },
      { ...base, id: 'pb1', status: 'failed', step: '1.2' },
    ]);
    expect([...heads].map(([id, h]) => [id, h.file, h.head.text])).toEqual([
      ['fail1', 'stderr/fail1', 'boom\n'],
      ['pb1', 'steps/1.2/stderr/pb1', 'step boom\n'],
    ]);
    expect(stderrPath({ id: 'h' })).toBe('stderr/h');
  });
});
