import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashedName } from '../../../src/transport/host-hash.js';

describe('hashed known_hosts names', () => {
  it('agrees with crypto HMAC-SHA1 for names of every length around the one-block limit', () => {
    for (let len = 0; len <= 120; len++) {
      const salt = randomBytes(20);
      const name = Buffer.from(randomBytes(len).toString('base64').slice(0, len), 'latin1');
      const digest = createHmac('sha1', salt).update(name).digest();
      const hashed = new HashedName(salt, digest);
      expect(hashed.matches(name)).toBe(true);
      expect(hashed.matches(Buffer.concat([name, Buffer.from('x')]))).toBe(false);
      const other = Buffer.from(digest);
      other[19]! ^= 1;
      expect(new HashedName(salt, other).matches(name)).toBe(false);
    }
  });
});
