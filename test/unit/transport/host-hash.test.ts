import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashedName, HashedNameIndex, HmacKey, NameBlock } from '../../../src/transport/host-hash.js';

const hmac = (salt: Buffer, name: string | Buffer): Buffer => createHmac('sha1', salt).update(name).digest();

describe('hashed known_hosts names', () => {
  it('agrees with crypto HMAC-SHA1 for names of every length around the one-block limit', () => {
    for (let len = 0; len <= 120; len++) {
      const salt = randomBytes(20);
      const name = Buffer.from(randomBytes(len).toString('base64').slice(0, len), 'latin1');
      const digest = hmac(salt, name);
      const hashed = new HashedName(salt, digest);
      expect(hashed.matches(name)).toBe(true);
      expect(hashed.matches(Buffer.concat([name, Buffer.from('x')]))).toBe(false);
      const other = Buffer.from(digest);
      other[19]! ^= 1;
      expect(new HashedName(salt, other).matches(name)).toBe(false);
    }
  });

  it('gives the same digest for one name block under many salts (the block is expanded once per name)', () => {
    const name = new NameBlock(Buffer.from('[10.0.0.1]:2222'));
    for (let i = 0; i < 50; i++) {
      const salt = randomBytes(20);
      const words = new HmacKey(salt).digestWords(name);
      const want = hmac(salt, '[10.0.0.1]:2222');
      expect([...words]).toEqual([0, 1, 2, 3, 4].map((k) => want.readInt32BE(4 * k)));
    }
  });
});

describe('hashed names grouped by salt', () => {
  it('finds every name under its own salt and under a shared one, and nothing else', () => {
    const shared = randomBytes(20);
    const index = new HashedNameIndex<string>();
    const own = (n: string): void => {
      const salt = randomBytes(20);
      index.add(salt, hmac(salt, n), `own:${n}`);
    };
    for (const n of ['a', 'b', 'c']) index.add(shared, hmac(shared, n), `shared:${n}`);
    own('a');
    own('d');
    index.add(shared, hmac(shared, 'a'), 'shared:a again');
    const find = (n: string): string[] => index.find(new NameBlock(Buffer.from(n))).sort();
    expect(find('a')).toEqual(['own:a', 'shared:a', 'shared:a again']);
    expect(find('d')).toEqual(['own:d']);
    expect(find('c')).toEqual(['shared:c']);
    expect(find('e')).toEqual([]);
    // One HMAC per distinct salt: the shared salt's four names cost one.
    expect(index.salts).toBe(3);
  });

  it('tells a digest that differs only past its first word apart', () => {
    const salt = randomBytes(20);
    const digest = hmac(salt, 'h');
    const near = Buffer.from(digest);
    near[19]! ^= 0x80;
    const index = new HashedNameIndex<string>();
    index.add(salt, near, 'near');
    expect(index.find(new NameBlock(Buffer.from('h')))).toEqual([]);
    index.add(salt, digest, 'exact');
    expect(index.find(new NameBlock(Buffer.from('h')))).toEqual(['exact']);
  });

  it('names the salt most names share, and none when no salt is shared', () => {
    const index = new HashedNameIndex<number>();
    const [s1, s2] = [randomBytes(20), randomBytes(20)];
    index.add(randomBytes(20), randomBytes(20), 0);
    expect(index.mostSharedSalt()).toBeNull();
    index.add(s1, randomBytes(20), 1);
    index.add(s1, randomBytes(20), 2);
    index.add(s2, randomBytes(20), 3);
    index.add(s2, randomBytes(20), 4);
    index.add(s2, randomBytes(20), 5);
    expect(index.mostSharedSalt()).toEqual(s2);
  });
});
