import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  entriesFor,
  formatKnownHostsLine,
  globMatches,
  keyTypeOfBlob,
  knownHostsName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  verifyHostKey,
} from '../../../src/transport/known-hosts.js';

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const b = Buffer.from(body);
  const out = Buffer.alloc(8 + t.length + b.length);
  out.writeUInt32BE(t.length, 0);
  t.copy(out, 4);
  out.writeUInt32BE(b.length, 4 + t.length);
  b.copy(out, 8 + t.length);
  return out;
}
const keyA = blob('ssh-ed25519', 'A'.repeat(32));
const keyB = blob('ssh-ed25519', 'B'.repeat(32));
const keyR = blob('ecdsa-sha2-nistp256', 'R'.repeat(32));

function hashed(name: string): string {
  const salt = Buffer.from('0123456789abcdef0123');
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts names', () => {
  it.each([
    ['10.0.0.1', 22, '10.0.0.1'],
    ['10.0.0.1', 2222, '[10.0.0.1]:2222'],
    ['::1', 22, '::1'],
    ['::1', 2200, '[::1]:2200'],
  ])('looks up %s port %i as %s', (host, port, name) => {
    expect(knownHostsName(host, port)).toBe(name);
  });
});

describe('known_hosts parsing and lookup', () => {
  const text = [
    '# a comment',
    '',
    `10.0.0.1,web1 ${keyTypeOfBlob(keyA)} ${keyA.toString('base64')}`,
    `[10.0.0.2]:2222 ssh-ed25519 ${keyA.toString('base64')} a trailing comment`,
    `${hashed('10.0.0.3')} ssh-ed25519 ${keyB.toString('base64')}`,
    `10.0.0.4 ssh-ed25519 ${keyA.toString('base64')}`,
    `10.0.0.4 ecdsa-sha2-nistp256 ${keyR.toString('base64')}`,
    `@revoked * ecdsa-sha2-nistp256 ${keyR.toString('base64')}`,
    `10.9.*,!10.9.0.5 ssh-ed25519 ${keyB.toString('base64')}`,
    'garbage-line-without-key',
  ].join('\n');
  const entries = parseKnownHosts(text);

  it('skips comments, blank and malformed lines', () => {
    expect(entries).toHaveLength(7);
  });

  it('matches plain, port-bracketed, hashed and glob names, honouring negation', () => {
    expect(entriesFor(entries, '10.0.0.1', 22).filter((e) => !e.marker)).toHaveLength(1);
    expect(entriesFor(entries, 'web1', 22).filter((e) => !e.marker)).toHaveLength(1);
    expect(entriesFor(entries, '10.0.0.2', 2222).filter((e) => !e.marker)).toHaveLength(1);
    expect(entriesFor(entries, '10.0.0.2', 22).filter((e) => !e.marker)).toHaveLength(0);
    expect(entriesFor(entries, '10.0.0.3', 22).filter((e) => !e.marker)).toHaveLength(1);
    expect(entriesFor(entries, '10.9.1.1', 22).filter((e) => !e.marker)).toHaveLength(1);
    expect(entriesFor(entries, '10.9.0.5', 22).filter((e) => !e.marker)).toHaveLength(0);
  });

  it('says match, mismatch, unknown or revoked', () => {
    expect(verifyHostKey(entriesFor(entries, '10.0.0.1', 22), keyA)).toEqual({ kind: 'match' });
    expect(verifyHostKey(entriesFor(entries, '10.0.0.1', 22), keyB)).toEqual({ kind: 'mismatch', knownTypes: ['ssh-ed25519'] });
    expect(verifyHostKey(entriesFor(entries, '10.0.0.77', 22), keyB)).toEqual({ kind: 'unknown' });
    expect(verifyHostKey(entriesFor(entries, '10.0.0.4', 22), keyR)).toEqual({ kind: 'revoked' });
    expect(verifyHostKey(entriesFor(entries, '10.0.0.3', 22), keyB)).toEqual({ kind: 'match' });
  });

  it('accepts any of several keys listed for one host', () => {
    const two = parseKnownHosts(`h ssh-ed25519 ${keyA.toString('base64')}\nh ssh-ed25519 ${keyB.toString('base64')}\n`);
    expect(verifyHostKey(entriesFor(two, 'h', 22), keyB)).toEqual({ kind: 'match' });
  });

  it('formats a new key line that it can read back', () => {
    const line = formatKnownHostsLine('10.1.1.1', 2222, keyA);
    expect(line).toBe(`[10.1.1.1]:2222 ssh-ed25519 ${keyA.toString('base64')}`);
    expect(verifyHostKey(entriesFor(parseKnownHosts(line), '10.1.1.1', 2222), keyA)).toEqual({ kind: 'match' });
  });
});

describe('globs and algorithm preference', () => {
  it.each([
    ['10.0.*', '10.0.3.4', true],
    ['10.0.?.4', '10.0.3.4', true],
    ['10.0.?.4', '10.0.33.4', false],
    ['web.example', 'webXexample', false],
  ])('glob %s against %s is %s', (pattern, text, expected) => {
    expect(globMatches(pattern, text)).toBe(expected);
  });

  it('offers the key types already known first', () => {
    expect(preferredHostKeyAlgorithms(['ssh-rsa'], ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'])).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ]);
  });
});
