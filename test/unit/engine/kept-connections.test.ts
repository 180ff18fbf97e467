// A worker's kept connections: bounded by its sessions (in use + idle), oldest idle closed first,
// a connection that closed by itself never handed out again, released ones closed.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { KeptConnections } from '../../../src/engine/kept-connections.js';
import type { HostResult } from '../../../src/results/status.js';

/** The two things the module uses of a connection (HostConnection's close() and onClose()). */
class Connection extends EventEmitter {
  ended = false;
  close(): void {
    this.ended = true;
    this.emit('close');
  }
  onClose(listener: () => void): () => void {
    this.once('close', listener);
    return () => void this.off('close', listener);
  }
}

const ok = (id: string): HostResult => ({ id, status: 'ok', exitCode: 0, durationMs: 1, reason: '' });
const failed = (id: string): HostResult => ({
  id,
  status: 'failed',
  exitCode: 1,
  durationMs: 1,
  reason: 'exit code 1',
  code: 'E_EXIT',
});

function kept(capacity: number, keeping = true): { pool: KeptConnections<Connection>; opened: string[] } {
  const opened: string[] = [];
  return {
    pool: new KeptConnections<Connection>({ capacity, keeping: () => keeping, onOpened: (id) => opened.push(id) }),
    opened,
  };
}

function open(pool: KeptConnections<Connection>, id: string): Connection {
  const c = new Connection();
  pool.opened(id, c);
  return c;
}

describe('KeptConnections', () => {
  it('keeps a host that goes on and hands its connection back once', () => {
    const { pool, opened } = kept(4);
    const a = open(pool, 'a');
    pool.settle('a', a, ok('a'));
    expect(a.ended).toBe(false);
    expect(pool.take('a')).toBe(a);
    expect(pool.take('a')).toBeUndefined();
    expect(opened).toEqual(['a']);
  });

  it('closes the connection of a host that failed, threw, or when the pass keeps none', () => {
    const { pool } = kept(4);
    const a = open(pool, 'a');
    pool.settle('a', a, failed('a'));
    const b = open(pool, 'b');
    pool.settle('b', b, undefined);
    expect([a.ended, b.ended]).toEqual([true, true]);
    const off = kept(4, false).pool;
    const c = open(off, 'c');
    off.settle('c', c, ok('c'));
    expect(c.ended).toBe(true);
    expect(off.take('c')).toBeUndefined();
  });

  it('closes idle connections oldest first so that in use + idle stays within its sessions', () => {
    const { pool } = kept(2);
    const [a, b] = [open(pool, 'a'), open(pool, 'b')];
    pool.settle('a', a, ok('a'));
    pool.settle('b', b, ok('b'));
    pool.beforeConnect(1); // a third host connects: room for one idle
    expect([a.ended, b.ended]).toEqual([true, false]);
    pool.beforeConnect(2);
    expect(b.ended).toBe(true);
    expect(pool.idleCount).toBe(0);
  });

  it('never hands out a connection that closed while idle, and closes released ones', () => {
    const { pool } = kept(4);
    const [a, b, c] = [open(pool, 'a'), open(pool, 'b'), open(pool, 'c')];
    for (const [id, conn] of [
      ['a', a],
      ['b', b],
      ['c', c],
    ] as const)
      pool.settle(id, conn, ok(id));
    a.emit('close'); // the host dropped it
    expect(pool.take('a')).toBeUndefined();
    pool.release(['b']);
    expect(b.ended).toBe(true);
    pool.closeAll();
    expect(c.ended).toBe(true);
    expect(pool.idleCount).toBe(0);
  });

  it('holding (herd shell) keeps every open connection whatever the result, and says when one is held or drops', () => {
    const held: string[] = [];
    const pool = new KeptConnections<Connection>({
      capacity: 4,
      keeping: () => false,
      holding: () => true,
      onOpened: () => {},
      onHeld: (id, open) => held.push(`${id}:${open ? 'held' : 'closed'}`),
    });
    const a = open(pool, 'a');
    pool.settle('a', a, failed('a'));
    expect(a.ended).toBe(false);
    expect(pool.take('a')).toBe(a);
    pool.settle('a', a, failed('a'));
    // The host drops it while idle: reported, and never handed out again.
    const b = open(pool, 'b');
    pool.settle('b', b, ok('b'));
    b.close();
    expect(pool.take('b')).toBeUndefined();
    // Closed while in use (connection lost mid-command): settled as closed.
    const c = open(pool, 'c');
    c.close();
    pool.settle('c', c, undefined);
    expect(held).toEqual(['a:held', 'a:held', 'b:held', 'b:closed', 'c:closed']);
  });
});
