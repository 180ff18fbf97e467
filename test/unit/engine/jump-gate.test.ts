import { describe, expect, it } from 'vitest';
import { JumpHandshakeGate } from '../../../src/engine/jump-gate.js';
import { classifyConnectError } from '../../../src/transport/failure.js';

describe('JumpHandshakeGate', () => {
  it('lets at most the limit of handshakes run per jump host, counted across workers, and grants in order', () => {
    const gate = new JumpHandshakeGate(3);
    const a = {};
    const b = {};
    const granted: string[] = [];
    for (let t = 1; t <= 3; t++) gate.request(a, 'bastion', t, () => granted.push(`a${t}`));
    for (let t = 1; t <= 2; t++) gate.request(b, 'bastion', t, () => granted.push(`b${t}`));
    gate.request(b, 'other', 9, () => granted.push('b9 other'));
    expect(granted).toEqual(['a1', 'a2', 'a3', 'b9 other']);
    expect(gate.active('bastion')).toBe(3);
    gate.done(a, 2);
    expect(granted.at(-1)).toBe('b1');
    gate.done(a, 2); // twice: no effect
    expect(gate.active('bastion')).toBe(3);
    gate.done(b, 1);
    expect(granted.at(-1)).toBe('b2');
  });

  it('gives back the slots of a worker that died and forgets what it waited for', () => {
    const gate = new JumpHandshakeGate(1);
    const dead = {};
    const alive = {};
    const granted: string[] = [];
    gate.request(dead, 'bastion', 1, () => granted.push('dead1'));
    gate.request(dead, 'bastion', 2, () => granted.push('dead2'));
    gate.request(alive, 'bastion', 1, () => granted.push('alive1'));
    gate.dropOwner(dead);
    expect(granted).toEqual(['dead1', 'alive1']);
    expect(gate.active('bastion')).toBe(1);
  });
});

describe('a server that closes before its banner (sshd MaxStartups)', () => {
  it('is a close worth a retry, not a failed key exchange', () => {
    const err = Object.assign(new Error('Connection lost before handshake'), { level: 'protocol' });
    expect(classifyConnectError(err, 'banner')).toMatchObject({
      code: 'E_CLOSED',
      message: 'connection closed by the server before the SSH handshake',
    });
  });
});
