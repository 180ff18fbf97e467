// One host's captured stream: no reader ever sees a torn file, big output goes to disk as it
// arrives, and the summary's digest covers every byte while its preview is only the start.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HostOutput, SPILL_BYTES } from '../../../src/results/host-output.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-host-output-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

describe('HostOutput', () => {
  it('publishes a small output under its final name only when done, private, with nothing else left', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'small-'));
    const out = new HostOutput(dir, 'ops@web1:2222');
    out.append(Buffer.from('hello '));
    out.append(Buffer.from('world\n'));
    expect(fs.readdirSync(dir)).toEqual([]); // held in memory: no file to be read half-written
    const file = out.publish();
    expect(file).toBe(path.join(dir, 'ops@web1:2222'));
    expect(fs.readFileSync(file, 'utf8')).toBe('hello world\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['ops@web1:2222']);
    expect(out.summary()).toEqual({
      digest: sha1(Buffer.from('hello world\n')),
      preview: 'hello world\n',
      bytes: 12,
      truncated: false,
    });
  });

  it('spills a large output to a hidden partial file as it arrives, and renames it whole when done', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'large-'));
    const out = new HostOutput(dir, 'web2');
    const chunk = Buffer.alloc(64 * 1024);
    const all: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      const c = Buffer.from(chunk.fill(65 + i));
      all.push(c);
      out.append(c);
    }
    expect(fs.readdirSync(dir)).toEqual(['.web2.partial']);
    expect(fs.statSync(path.join(dir, '.web2.partial')).size).toBeGreaterThanOrEqual(SPILL_BYTES);
    out.publish();
    const whole = Buffer.concat(all);
    expect(fs.readdirSync(dir)).toEqual(['web2']);
    expect(sha1(fs.readFileSync(path.join(dir, 'web2')))).toBe(sha1(whole));
    const s = out.summary();
    expect(s).toMatchObject({ digest: sha1(whole), bytes: whole.length, truncated: true });
    expect(s.preview).toBe('A'.repeat(4096));
  });

  it('keeps exactly the first 4096 bytes as the preview across chunk boundaries', () => {
    const out = new HostOutput(tmp, 'unused');
    out.append(Buffer.from('x'.repeat(4000)));
    out.append(Buffer.from('y'.repeat(200)));
    out.append(Buffer.from('z'));
    const s = out.summary();
    expect(s.preview).toBe('x'.repeat(4000) + 'y'.repeat(96));
    expect([s.bytes, s.truncated]).toEqual([4201, true]);
  });

  it('an empty stream publishes an empty file, and its summary says 0 bytes', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'empty-'));
    const out = new HostOutput(dir, 'quiet');
    const file = out.publish();
    expect(fs.statSync(file).size).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['quiet']);
    expect(out.summary()).toEqual({ digest: sha1(Buffer.alloc(0)), preview: '', bytes: 0, truncated: false });
  });

  it('an empty stream whose name is already taken replaces what was there, as any output does', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'empty-taken-'));
    fs.writeFileSync(path.join(dir, 'quiet'), 'stale', { mode: 0o644 });
    const file = new HostOutput(dir, 'quiet').publish();
    expect(fs.readFileSync(file, 'utf8')).toBe('');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['quiet']);
  });
});
