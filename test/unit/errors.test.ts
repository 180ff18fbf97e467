// Error codes are a closed set: what herd records is always one of ERROR_CODES, whatever was thrown.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  HerdError,
  InventoryError,
  PlaybookError,
  RunDirError,
  UsageError,
  codeOfErrno,
  toErrorData,
} from '../../src/errors.js';
import { TransferError, transferCodeOf } from '../../src/transport/transfer-error.js';
import ssh2 from 'ssh2';

/** What a real failing fs call throws. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

describe('toErrorData', () => {
  it('keeps a HerdError code', () => {
    expect(toErrorData(new HerdError('E_IDLE_TIMEOUT', 'quiet'))).toEqual({ code: 'E_IDLE_TIMEOUT', message: 'quiet' });
  });

  it('maps a real ENOENT to E_NO_SUCH_FILE and keeps the errno', () => {
    const err = thrownBy(() => fs.readFileSync(path.join(os.tmpdir(), `herd-no-such-${process.pid}-${Date.now()}`)));
    expect(toErrorData(err)).toMatchObject({ code: 'E_NO_SUCH_FILE', errno: 'ENOENT' });
    expect(toErrorData(err).message).toContain('ENOENT');
  });

  it('maps a system error it has no code for to E_IO, never to the raw errno', () => {
    const err = thrownBy(() => fs.readFileSync(os.tmpdir())); // EISDIR
    expect(toErrorData(err)).toMatchObject({ code: 'E_IO', errno: 'EISDIR' });
  });

  it('calls anything else a bug: E_INTERNAL (Node ERR_ codes and plain errors alike)', () => {
    expect(toErrorData(new TypeError('x is undefined')).code).toBe('E_INTERNAL');
    const nodeErr = Object.assign(new Error('stream destroyed'), { code: 'ERR_STREAM_DESTROYED' });
    expect(toErrorData(nodeErr).code).toBe('E_INTERNAL');
    expect(toErrorData('a string').code).toBe('E_INTERNAL');
  });

  it('only ever produces codes from the closed list', () => {
    for (const errno of [
      'ENOENT',
      'ENOTDIR',
      'EACCES',
      'EPERM',
      'EROFS',
      'ENOSPC',
      'EDQUOT',
      'EISDIR',
      'EMFILE',
      'ECONNRESET',
    ]) {
      expect(ERROR_CODES).toContain(codeOfErrno(errno));
    }
  });
});

describe('transfer errors', () => {
  const { STATUS_CODE } = ssh2.utils.sftp;
  it('take their code from the host SFTP status or the local errno', () => {
    expect(transferCodeOf({ code: STATUS_CODE.NO_SUCH_FILE })).toBe('E_NO_SUCH_FILE');
    expect(transferCodeOf({ code: STATUS_CODE.PERMISSION_DENIED })).toBe('E_PERMISSION');
    expect(transferCodeOf({ code: STATUS_CODE.CONNECTION_LOST })).toBe('E_CONNECTION_LOST');
    expect(transferCodeOf({ code: STATUS_CODE.FAILURE })).toBe('E_TRANSFER');
    expect(transferCodeOf({ code: 'ENOSPC' })).toBe('E_NO_SPACE');
    expect(transferCodeOf(undefined)).toBe('E_TRANSFER');
  });

  it('keep an explicit code over the cause', () => {
    const err = new TransferError('refused', { code: 'E_UNSAFE_PATH', cause: { code: STATUS_CODE.FAILURE } });
    expect(err.code).toBe('E_UNSAFE_PATH');
    expect(new TransferError('upload x: No such file', { cause: { code: STATUS_CODE.NO_SUCH_FILE } }).code).toBe(
      'E_NO_SUCH_FILE',
    );
  });
});

describe('the code list', () => {
  it('holds every code literal the source uses', () => {
    const root = path.resolve(__dirname, '../../src');
    const used = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith('.ts'))
          for (const m of fs.readFileSync(full, 'utf8').matchAll(/'(E_[A-Z_]+)'/g)) used.add(m[1]!);
      }
    };
    walk(root);
    expect([...used].filter((c) => !(ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
  });
});

describe('input errors', () => {
  it('say file:line:column first, are usage errors (exit 2) with their own code and class name', () => {
    const inv = new InventoryError({ file: 'hosts.txt', line: 3, column: 7 }, 'bad host name "web;id"');
    expect(inv.message).toBe('hosts.txt:3:7: bad host name "web;id"');
    expect([inv.code, inv.name, inv instanceof UsageError]).toEqual(['E_INVENTORY', 'InventoryError', true]);
    expect(inv.position).toEqual({ file: 'hosts.txt', line: 3, column: 7 });
    const pb = new PlaybookError({ file: 'site.yml', line: 1, column: 1 }, 'x');
    expect([pb.code, pb.name, pb instanceof UsageError]).toEqual(['E_PLAYBOOK', 'PlaybookError', true]);
    expect(toErrorData(pb)).toEqual({ code: 'E_PLAYBOOK', message: 'site.yml:1:1: x' });
    expect(new RunDirError('gone', { cause: inv }).cause).toBe(inv);
    expect(new UsageError('u').code).toBe('E_USAGE');
  });
});
