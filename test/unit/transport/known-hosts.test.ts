import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  b64pton,
  b64ptonByChar,
  entriesFor,
  formatKnownHostsLine,
  globMatches,
  hostFieldMatches,
  keyTypeOfBlob,
  knownHostsName,
  KnownHostsIndex,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  recordingSalt,
  verifyHostKey,
} from '../../../src/transport/known-hosts.js';

function sshString(b: Buffer | string): Buffer {
  const body = Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}
function ed25519Blob(): Buffer {
  // The SPKI DER's last 32 bytes are the key: a JWK export of a generated ed25519 key can deadlock Node 20.
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  return Buffer.concat([sshString('ssh-ed25519'), sshString(der.subarray(der.length - 32))]);
}
function ecdsaBlob(curve: 'nistp256' | 'nistp384', named = curve): Buffer {
  const jwk = generateKeyPairSync('ec', { namedCurve: curve === 'nistp256' ? 'P-256' : 'P-384' }).publicKey.export({
    format: 'jwk',
  });
  const q = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return Buffer.concat([sshString(`ecdsa-sha2-${named}`), sshString(curve), sshString(q)]);
}
const keyA = ed25519Blob();
const keyB = ed25519Blob();
const keyR = ecdsaBlob('nistp256');
const b64 = (k: Buffer): string => k.toString('base64');

function hashed(name: string, salt = Buffer.from('0123456789abcdef0123')): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts names', () => {
  it.each([
    ['10.0.0.1', 22, '10.0.0.1'],
    ['10.0.0.1', 2222, '[10.0.0.1]:2222'],
    ['::1', 2200, '[::1]:2200'],
    ['WEB1.Example.COM', 22, 'web1.example.com'],
    ['WEB1', 2222, '[web1]:2222'],
  ])('looks up %s port %i as %s (lowercased, as ssh does)', (host, port, name) => {
    expect(knownHostsName(host, port)).toBe(name);
  });

  it('finds a hashed pin of a lower-case name from an upper-case inventory name', () => {
    const entries = parseKnownHosts(`${hashed('web1.example')} ssh-ed25519 ${b64(keyA)}\n`);
    expect(verifyHostKey(entriesFor(entries, 'WEB1.example', 22), keyA)).toEqual({ kind: 'match' });
    expect(verifyHostKey(entriesFor(entries, 'WEB1.example', 22), keyB)).toMatchObject({ kind: 'mismatch' });
  });
});

describe('known_hosts parsing and lookup', () => {
  const text = [
    '# a comment',
    '',
    `10.0.0.1,web1 ${keyTypeOfBlob(keyA)} ${b64(keyA)}`,
    `[10.0.0.2]:2222 ssh-ed25519 ${b64(keyA)} a trailing comment`,
    `${hashed('10.0.0.3')} ssh-ed25519 ${b64(keyB)}`,
    `10.0.0.4 ssh-ed25519 ${b64(keyA)}`,
    `10.0.0.4 ecdsa-sha2-nistp256 ${b64(keyR)}`,
    `@revoked * ecdsa-sha2-nistp256 ${b64(keyR)}`,
    `10.9.*,!10.9.0.5 ssh-ed25519 ${b64(keyB)}`,
    'garbage-line-without-key',
  ].join('\n');
  const entries = parseKnownHosts(text, '/kh');
  const plain = (host: string, port: number): number => {
    const e = entriesFor(entries, host, port);
    return [...e.exact, ...e.bare].filter((x) => !x.marker).length;
  };

  it('skips comments, blank and malformed lines, and says where each entry is', () => {
    expect(entries).toHaveLength(7);
    expect(entries[0]).toMatchObject({ file: '/kh', line: 3 });
  });

  it('matches plain, port-bracketed, hashed and glob names, honouring negation', () => {
    expect(plain('10.0.0.1', 22)).toBe(1);
    expect(plain('web1', 22)).toBe(1);
    expect(plain('WEB1', 22)).toBe(1);
    expect(entriesFor(entries, '10.0.0.2', 2222).exact.filter((x) => !x.marker)).toHaveLength(1);
    expect(plain('10.0.0.2', 22)).toBe(0);
    expect(plain('10.0.0.3', 22)).toBe(1);
    expect(plain('10.9.1.1', 22)).toBe(1);
    expect(plain('10.9.0.5', 22)).toBe(0);
  });

  it('says match, mismatch, unknown or revoked, naming the line', () => {
    expect(verifyHostKey(entriesFor(entries, '10.0.0.1', 22), keyA)).toEqual({ kind: 'match' });
    expect(verifyHostKey(entriesFor(entries, '10.0.0.1', 22), keyB)).toMatchObject({
      kind: 'mismatch',
      knownTypes: ['ssh-ed25519'],
      where: '/kh:3',
      pinned: { line: 3 },
    });
    expect(verifyHostKey(entriesFor(entries, '10.0.0.77', 22), keyB)).toEqual({ kind: 'unknown' });
    expect(verifyHostKey(entriesFor(entries, '10.0.0.4', 22), keyR)).toEqual({ kind: 'revoked', where: '/kh:8' });
    expect(verifyHostKey(entriesFor(entries, '10.0.0.3', 22), keyB)).toEqual({ kind: 'match' });
  });

  it('accepts any of several keys listed for one host, across files', () => {
    const two = [
      ...parseKnownHosts(`h ssh-ed25519 ${b64(keyA)}\n`, '/a'),
      ...parseKnownHosts(`h ssh-ed25519 ${b64(keyB)}\n`, '/b'),
    ];
    expect(verifyHostKey(entriesFor(two, 'h', 22), keyB)).toEqual({ kind: 'match' });
  });

  it('formats a new key line that it can read back, plain or hashed', () => {
    const line = formatKnownHostsLine('10.1.1.1', 2222, keyA);
    expect(line).toBe(`[10.1.1.1]:2222 ssh-ed25519 ${b64(keyA)}`);
    expect(verifyHostKey(entriesFor(parseKnownHosts(line), '10.1.1.1', 2222), keyA)).toEqual({ kind: 'match' });
    const hashedLine = formatKnownHostsLine('Web1', 2222, keyA, true);
    expect(hashedLine).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
    expect(verifyHostKey(entriesFor(parseKnownHosts(hashedLine), 'web1', 2222), keyA)).toEqual({ kind: 'match' });
  });
});

describe('a port other than 22 (checked against the real ssh in the oracle test)', () => {
  it('falls back to the bare host name only when [host]:port is unknown, and only for a matching key', () => {
    const bare = parseKnownHosts(`10.0.0.1 ssh-ed25519 ${b64(keyA)}\n`);
    expect(verifyHostKey(entriesFor(bare, '10.0.0.1', 2222), keyA)).toEqual({ kind: 'match' });
    expect(verifyHostKey(entriesFor(bare, '10.0.0.1', 2222), keyB)).toEqual({ kind: 'unknown' });
    const both = parseKnownHosts(`10.0.0.1 ssh-ed25519 ${b64(keyA)}\n[10.0.0.1]:2222 ssh-ed25519 ${b64(keyB)}\n`);
    expect(verifyHostKey(entriesFor(both, '10.0.0.1', 2222), keyA)).toMatchObject({ kind: 'mismatch' });
  });

  it('refuses a key @revoked under the bare name (ssh 9.2 warns and goes on)', () => {
    const revoked = parseKnownHosts(`@revoked 10.0.0.1 ssh-ed25519 ${b64(keyA)}\n`, '/kh');
    expect(verifyHostKey(entriesFor(revoked, '10.0.0.1', 2222), keyA)).toEqual({ kind: 'revoked', where: '/kh:1' });
  });
});

describe('@cert-authority', () => {
  it('is never absent: a host vouched for only by a CA is refused, naming the line', () => {
    const ca = parseKnownHosts(`# ca\n@cert-authority *.example ssh-ed25519 ${b64(keyB)}\n`, '/kh');
    expect(verifyHostKey(entriesFor(ca, 'db.example', 22), keyA)).toEqual({ kind: 'cert-authority', where: '/kh:2' });
    expect(verifyHostKey(entriesFor(ca, 'db.other', 22), keyA)).toEqual({ kind: 'unknown' });
  });

  it('does not stand in the way of a plain pin', () => {
    const both = parseKnownHosts(`@cert-authority * ssh-ed25519 ${b64(keyB)}\nh ssh-ed25519 ${b64(keyA)}\n`);
    expect(verifyHostKey(entriesFor(both, 'h', 22), keyA)).toEqual({ kind: 'match' });
  });
});

describe('lines OpenSSH 9.2 ignores are ignored (each form checked against the real ssh)', () => {
  const K = b64(keyA);
  const kept = (line: string): boolean =>
    verifyHostKey(entriesFor(parseKnownHosts(line), 'h', 22), keyA).kind === 'match';
  it.each([
    ['plain', `h ssh-ed25519 ${K}`, true],
    ['tabs and runs of blanks', `  \th\tssh-ed25519\t\t${K}\t# c`, true],
    ['CRLF line end', `h ssh-ed25519 ${K}\r`, true],
    ['CR inside the base64 (b64_pton skips whitespace)', `h ssh-ed25519 ${K.slice(0, 20)}\r${K.slice(20)}`, true],
    ['VT after the key', `h ssh-ed25519 ${K}\v`, true],
    ['NUL after the key ends the line', `h ssh-ed25519 ${K}\0junk`, true],
    ['NUL inside the key', `h ssh-ed25519 ${K.slice(0, 20)}\0${K.slice(20)}`, false],
    ['form feed as a field separator', `h\fssh-ed25519 ${K}`, false],
    ['vertical tab as a field separator', `h ssh-ed25519\v${K}`, false],
    ['no-break space as a separator', `h\u00a0ssh-ed25519 ${K}`, false],
    ['form feed before a comment joins it to the key', `h ssh-ed25519 ${K}\fcomment`, false],
    ['leading form feed', `\fh ssh-ed25519 ${K}`, false],
    ['key type name of another key', `h ssh-rsa ${K}`, false],
    ['key type short name', `h ed25519 ${K}`, false],
    ['key type in upper case', `h SSH-ED25519 ${K}`, false],
    ['extra padding', `h ssh-ed25519 ${K}=`, false],
    ['one character too many', `h ssh-ed25519 ${K}A`, false],
    ['one character short', `h ssh-ed25519 ${K.slice(0, -1)}`, false],
    ['trailing bytes in the blob', `h ssh-ed25519 ${K}AAAA`, false],
    ['a non-base64 character', `h ssh-ed25519 ${K.slice(0, 20)}-${K.slice(20)}`, false],
    ['comment where the key type goes', `h #ssh-ed25519 ${K}`, false],
    ['unknown marker', `@trusted h ssh-ed25519 ${K}`, false],
    ['two markers', `@revoked @revoked h ssh-ed25519 ${K}`, false],
    ['@revoked then a tab, when a space follows later', `@revoked\th ssh-ed25519 ${K}`, false],
  ])('%s: kept=%s', (_what, line, expected) => {
    const asMarker = line.startsWith('@');
    if (asMarker) {
      const entries = parseKnownHosts(line);
      expect(entries.length > 0).toBe(expected);
    } else expect(kept(line)).toBe(expected);
  });

  it('reads a marker followed by a tab when no space follows (check_markers searches the space first)', () => {
    expect(parseKnownHosts(`@revoked\th\tssh-ed25519\t${K}`)).toHaveLength(1);
  });

  it('checks an ECDSA blob against its curve and point', () => {
    const p384 = ecdsaBlob('nistp384');
    expect(parseKnownHosts(`h ecdsa-sha2-nistp384 ${b64(p384)}`)).toHaveLength(1);
    expect(parseKnownHosts(`h ecdsa-sha2-nistp256 ${b64(p384)}`)).toHaveLength(0);
    const offCurve = Buffer.from(keyR);
    offCurve[offCurve.length - 1]! ^= 1;
    expect(parseKnownHosts(`h ecdsa-sha2-nistp256 ${b64(offCurve)}`)).toHaveLength(0);
  });

  it('takes the RSA signature names for an ssh-rsa key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const mp = (x: string): Buffer => {
      const b = Buffer.from(x, 'base64url');
      return sshString(b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
    };
    const blob = Buffer.concat([sshString('ssh-rsa'), mp(rsa.e!), mp(rsa.n!)]);
    for (const type of ['ssh-rsa', 'rsa-sha2-256', 'rsa-sha2-512'])
      expect(parseKnownHosts(`h ${type} ${b64(blob)}`)).toHaveLength(1);
    const small = generateKeyPairSync('rsa', { modulusLength: 512 }).publicKey.export({ format: 'jwk' });
    expect(
      parseKnownHosts(`h ssh-rsa ${b64(Buffer.concat([sshString('ssh-rsa'), mp(small.e!), mp(small.n!)]))}`),
    ).toHaveLength(0);
  });
});

describe('host fields', () => {
  it('treats a field starting with | as one hashed name: no comma lists, 20-byte salt, canonical text', () => {
    const h = hashed('h');
    expect(hostFieldMatches(h, 'h')).toBe(true);
    expect(hostFieldMatches(`${h},other`, 'h')).toBe(false);
    expect(hostFieldMatches(`other,${h}`, 'h')).toBe(false);
    expect(hostFieldMatches(hashed('h', Buffer.from('0123456789abcdef')), 'h')).toBe(false);
    expect(hostFieldMatches(hashed('h').replace('|1|', '|2|'), 'h')).toBe(false);
  });

  it('gives up on a name list with a sub-pattern of 1,023 characters or more', () => {
    expect(hostFieldMatches(`h,${'x'.repeat(1022)}`, 'h')).toBe(true);
    expect(hostFieldMatches(`h,${'x'.repeat(1023)}`, 'h')).toBe(false);
  });

  it('lowercases patterns (ASCII only) and honours negation wherever it is', () => {
    expect(hostFieldMatches('WEB*', 'web1')).toBe(true);
    expect(hostFieldMatches('web*,!web2', 'web2')).toBe(false);
    expect(hostFieldMatches('!web2,web*', 'web2')).toBe(false);
  });
});

describe('host field matching agrees with ssh-keygen -F', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-kh-unit-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const K = b64(keyA);
  const fields = [
    'web1',
    'WEB1',
    'web*',
    'w?b1',
    '*1,!web1',
    '!x,web1',
    'a,,web1',
    '[web1]:2222',
    '[web1]:*',
    '[WEB1]:2222,x',
    hashed('web1'),
    hashed('[web1]:2222'),
    `${hashed('web1')},x`,
    `x,${hashed('web1')}`,
    `|1|${Buffer.alloc(16).toString('base64')}|${createHmac('sha1', Buffer.alloc(16)).update('web1').digest('base64')}`,
    `web1,${'y'.repeat(1023)}`,
    `web1,${'y'.repeat(1022)}`,
    '*',
    '**1',
    'web1 ',
  ];
  const names = ['web1', '[web1]:2222', 'web2', '[web1]:22'];
  it.each(fields.flatMap((f) => names.map((n) => [f, n] as const)))('%s vs %s', (field, name) => {
    const file = path.join(dir, 'kh');
    fs.writeFileSync(file, `${field} ssh-ed25519 ${K}\n`);
    let found: boolean;
    try {
      found = execFileSync('ssh-keygen', ['-F', name, '-f', file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).includes('found');
    } catch {
      found = false;
    }
    expect(hostFieldMatches(field.split(/[ \t]/)[0]!, name)).toBe(found);
  });
});

describe('base64 as OpenSSH decodes it', () => {
  it.each([
    ['QUJD', 'ABC'],
    ['QUI=', 'AB'],
    ['QQ==', 'A'],
    [' Q\rU\vJ\fD ', 'ABC'],
    ['QQ= =', 'A'],
    ['QR==', null],
    ['QUJ=', null],
    ['QUI', null],
    ['QUI==', null],
    ['QUI=x', null],
    ['=QUI', null],
    ['QU-I', null],
  ])('%j -> %j', (text, expected) => {
    const out = b64pton(text);
    expect(out === null ? null : out.toString('latin1')).toBe(expected);
  });

  it('decodes canonical base64 (the fast path) exactly as character by character', () => {
    const near = fc.string({ unit: fc.constantFrom(...'QUJDRSab09+/= \t-'.split('')), maxLength: 12 });
    const canonical = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64'));
    fc.assert(
      fc.property(fc.oneof(near, canonical), (s) => {
        expect(b64pton(s)).toEqual(b64ptonByChar(s));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('globs and algorithm preference', () => {
  it.each([
    ['10.0.*', '10.0.3.4', true],
    ['10.0.?.4', '10.0.3.4', true],
    ['10.0.?.4', '10.0.33.4', false],
    ['web.example', 'webXexample', false],
    ['*a*b', 'xxaxxb', true],
    ['*a*b', 'xxaxxbc', false],
    ['a*', 'a\r', true],
  ])('glob %s against %s is %s', (pattern, text, expected) => {
    expect(globMatches(pattern, text)).toBe(expected);
  });

  it('offers the key types already known first', () => {
    expect(preferredHostKeyAlgorithms(['ssh-rsa'], ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'])).toEqual(
      ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519'],
    );
  });
});

describe('hostile known_hosts bytes', () => {
  const K = b64(keyA);
  const piece = fc.oneof(
    fc.constantFrom(
      'h',
      'H',
      '*',
      '?',
      '!',
      ',',
      '|1|',
      '|',
      '[h]:22',
      ' ',
      '\t',
      '\r',
      '\v',
      '\f',
      '\0',
      '\n',
      '#',
      '@revoked',
      '@cert-authority',
      '@',
    ),
    fc.constantFrom('ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', K, K.slice(0, 20), '=', 'A'),
    fc.string({ maxLength: 4 }),
  );
  const text = fc.array(piece, { maxLength: 40 }).map((p) => p.join(''));

  it('never throws, and every entry it keeps has a blank-free host field and a key of the named type', () => {
    fc.assert(
      fc.property(text, (t) => {
        for (const e of parseKnownHosts(Buffer.from(t, 'latin1'))) {
          expect(e.hosts).not.toMatch(/[ \t\n\0]/);
          expect(e.hosts.length).toBeGreaterThan(0);
          expect(keyTypeOfBlob(e.key)).toBe(e.keyType);
          verifyHostKey(entriesFor([e], 'h', 2222), keyA);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('matches globs as match.c does (checked against a regular-expression model)', () => {
    const glob = fc.array(fc.constantFrom('a', 'b', '*', '?', '.'), { maxLength: 8 }).map((p) => p.join(''));
    const subject = fc.array(fc.constantFrom('a', 'b', '.', '\r'), { maxLength: 8 }).map((p) => p.join(''));
    fc.assert(
      fc.property(glob, subject, (g, s) => {
        const model = new RegExp(`^${g.replace(/\./g, '\\.').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]')}$`);
        expect(globMatches(g, s)).toBe(model.test(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the lookup index (plain names in a map, hashed names by salt, globs one by one)', () => {
  const K = b64(keyA);
  const shared = Buffer.from('shared-salt-0123456!');
  const names = ['h', 'H', 'g', '[h]:22', 'a.b', 'x'];
  // Host fields of every kind the index sorts apart, against hostFieldMatches (the general path) as the model.
  const field = fc.oneof(
    fc
      .array(fc.constantFrom(...names, '*', 'h*', '?', '!h', '!g', '', 'a.?', 'A.B'), { minLength: 1, maxLength: 3 })
      .map((p) => p.join(',')),
    fc.constantFrom(...names).map((n) => hashed(asciiLowerForTest(n), shared)),
    fc.constantFrom(...names).map((n) => hashed(n, randomBytes(20))),
    fc.constantFrom('|1|bad|bad', '|2|x|y', `${hashed('h', shared)},h`, `${'h'.repeat(1023)},h`),
  );

  it('finds exactly the entries the general matcher finds, in file order, each once', () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 12 }), fc.constantFrom(...names, 'zz'), (fields, host) => {
        const entries = parseKnownHosts(fields.map((f) => `${f} ssh-ed25519 ${K}`).join('\n'));
        const name = knownHostsName(host, 22);
        const model = entries.filter((e) => hostFieldMatches(e.hosts, name));
        const index = new KnownHostsIndex(entries);
        expect(index.named(name)).toEqual(model);
        // Asked again (a jump host, a later pass): the same answer.
        expect(index.named(name)).toEqual(model);
      }),
      { numRuns: 1000 },
    );
  });

  it('costs one HMAC per distinct salt, however many entries share it', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `${hashed(`10.0.0.${i}`, shared)} ssh-ed25519 ${K}`);
    const index = new KnownHostsIndex(parseKnownHosts([...lines, `${hashed('x')} ssh-ed25519 ${K}`].join('\n')));
    expect(index.hashSalts).toBe(2);
    expect(index.named('10.0.0.7').map((e) => e.line)).toEqual([8]);
  });
});

describe('hashed names herd records (HashKnownHosts yes)', () => {
  it('share the salt most hashed entries of the file already share', () => {
    const other = Buffer.from('other-salt-012345678');
    const text = [
      `${hashed('a', other)} ssh-ed25519 ${b64(keyA)}`,
      `${hashed('b', randomBytes(20))} ssh-ed25519 ${b64(keyA)}`,
      `${hashed('c', other)} ssh-ed25519 ${b64(keyA)}`,
    ].join('\n');
    expect(recordingSalt(parseKnownHosts(text))).toEqual(other);
  });

  it('get a fresh random salt when no salt is shared yet', () => {
    const lone = parseKnownHosts(`${hashed('a', randomBytes(20))} ssh-ed25519 ${b64(keyA)}\n`);
    const a = recordingSalt(lone);
    expect(a).toHaveLength(20);
    expect(recordingSalt(lone)).not.toEqual(a);
    expect(recordingSalt([])).not.toEqual(a);
  });

  it('are written with the salt given and read back under it', () => {
    const salt = randomBytes(20);
    const lines = ['10.1.1.1', '10.1.1.2'].map((h) => formatKnownHostsLine(h, 2222, keyA, salt));
    for (const line of lines) expect(line.startsWith(`|1|${salt.toString('base64')}|`)).toBe(true);
    const index = new KnownHostsIndex(parseKnownHosts(lines.join('\n')));
    expect(index.hashSalts).toBe(1);
    expect(verifyHostKey(entriesFor(index, '10.1.1.2', 2222), keyA)).toEqual({ kind: 'match' });
    expect(verifyHostKey(entriesFor(index, '10.1.1.3', 2222), keyA)).toEqual({ kind: 'unknown' });
  });
});

function asciiLowerForTest(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
