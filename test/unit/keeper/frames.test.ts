import { describe, expect, it } from 'vitest';
import {
  connectionOf,
  encodeFrame,
  FrameReader,
  withoutSecrets,
  type KeeperFrame,
} from '../../../src/keeper/frames.js';
import type { HostJob, WorkerConfig } from '../../../src/engine/protocol.js';

describe('keeper frames', () => {
  it('carry messages with their bytes across any split of the stream', () => {
    const frames: KeeperFrame[] = [
      { t: 'opened', w: 0, pid: 42 },
      { t: 'msg', w: 1, m: { kind: 'output', id: 'h1', stream: 'stdout', data: new Uint8Array([0, 255, 10]) } },
      { t: 'exit', w: 1, code: null, signal: 'SIGKILL' },
    ];
    const bytes = Buffer.concat(frames.map(encodeFrame));
    for (const cut of [1, 3, 5, bytes.length - 1]) {
      const reader = new FrameReader<KeeperFrame>();
      const got = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      expect(got).toEqual(frames);
    }
  });

  it('refuse a frame over the cap', () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(0xffffffff);
    expect(() => new FrameReader().push(head)).toThrow(/frame of/);
  });

  it('keep no password or key passphrase in the config a worker keeps between commands', () => {
    const config = { password: 'pw', keyPassphrase: 'pp', keyPaths: ['k'] } as unknown as WorkerConfig;
    expect(withoutSecrets(config)).toEqual({ keyPaths: ['k'] });
  });

  it('tell a connection by its plan, not by the step range or the tag of the job', () => {
    const job: HostJob = {
      id: 'h',
      host: 'h',
      port: 22,
      user: 'u',
      tag: 't1',
      knownHosts: { files: [], record: null, hash: false },
    };
    expect(connectionOf({ ...job, tag: 't2', fromStep: 2 })).toBe(connectionOf(job));
    expect(connectionOf({ ...job, user: 'v' })).not.toBe(connectionOf(job));
  });
});
