// The ssh2 internals ssh2-certs.ts extends, pinned: an upgrade of ssh2 that moves any of them fails here, loudly,
// before a host certificate silently stops working (or a connection fails in a way nobody can explain).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  CERT_HOST_KEY_ALGORITHMS,
  extendClient,
  SSH2_VERSION,
  withUserCertificate,
} from '../../../src/transport/ssh2-certs.js';
import { fasterCurve25519 } from '../../../src/transport/ssh2-kex.js';
import ssh2 from '../../../src/transport/ssh2.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const lib = path.dirname(require.resolve('ssh2'));
const source = (file: string): string => fs.readFileSync(path.join(lib, file), 'utf8');

describe('the ssh2 internals the certificate extension relies on', () => {
  it('ssh2 is pinned to the exact version the extension was written against', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies.ssh2).toBe(SSH2_VERSION);
    const installed = JSON.parse(fs.readFileSync(path.join(lib, '..', 'package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(SSH2_VERSION);
  });

  it('kex.js takes parseDERKey from keyParser when it loads, and calls it with the blob type name', () => {
    const kex = source('protocol/kex.js');
    expect(kex).toContain("const { parseDERKey } = require('./keyParser.js');");
    expect(kex).toContain('parsedHostKey = parseDERKey(hostKey, name);');
  });

  it('kex.js reads the negotiated name for the blob check, then the signature check and the RSA hash', () => {
    const kex = source('protocol/kex.js');
    const blobCheck = kex.indexOf('if (hostPubKeyType !== this.negotiated.serverHostKey) {');
    const hostKeySet = kex.indexOf('this._hostKey = hostPubKey;', blobCheck);
    const verifier = kex.indexOf('this._protocol._hostVerifier(hostPubKey', hostKeySet);
    expect([blobCheck, hostKeySet, verifier].every((i) => i > 0)).toBe(true);
    expect(kex).toContain('if (sigType !== negotiated.serverHostKey) {');
    expect(kex).toContain("case 'rsa-sha2-512': hashAlgo = 'sha512'; break;");
    expect(kex).toContain('this._hostKey = undefined;');
    expect(kex).toContain('self._kex = createKeyExchange(init, self, payload);');
  });

  it('the client builds its Protocol inside connect() and checks offered algorithms against the shared list', () => {
    const client = source('client.js');
    expect(client).toContain('const proto = this._protocol = new Protocol({');
    expect(client).toMatch(
      /generateAlgorithmList\(cfg\.algorithms\.serverHostKey,\s+DEFAULT_SERVER_HOST_KEY,\s+SUPPORTED_SERVER_HOST_KEY\)/,
    );
  });

  it('the certificate algorithms are accepted as a client offer', () => {
    const client = new ssh2.Client();
    client.on('error', () => {});
    expect(() =>
      client.connect({
        sock: new PassThrough(),
        username: 'x',
        algorithms: { serverHostKey: Object.keys(CERT_HOST_KEY_ALGORITHMS) as never },
      }),
    ).not.toThrow();
    client.end();
  });

  it("kex.js's parseDERKey reads a certificate made by ssh-keygen as the key it certifies", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-ssh2-certs-'));
    try {
      for (const [type, bits] of [
        ['ed25519', '256'],
        ['ecdsa', '384'],
        ['rsa', '2048'],
      ] as const) {
        const key = path.join(dir, type);
        execFileSync('ssh-keygen', ['-q', '-t', type, '-b', bits, '-N', '', '-f', key], { stdio: 'ignore' });
        execFileSync('ssh-keygen', ['-q', '-s', key, '-I', 'id', '-h', `${key}.pub`], { stdio: 'ignore' });
        const cert = Buffer.from(fs.readFileSync(`${key}-cert.pub`, 'utf8').split(' ')[1]!, 'base64');
        const plain = Buffer.from(fs.readFileSync(`${key}.pub`, 'utf8').split(' ')[1]!, 'base64');
        const certType = cert.subarray(4, 4 + cert.readUInt32BE(0)).toString();
        const keyParser = require('ssh2/lib/protocol/keyParser.js') as {
          parseDERKey: (d: Buffer, t: string) => { getPublicSSH(): Buffer } | Error;
        };
        const parsed = keyParser.parseDERKey(cert.subarray(4 + certType.length), certType);
        if (parsed instanceof Error) throw parsed;
        expect(parsed.getPublicSSH().equals(plain), type).toBe(true);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Protocol.authPK writes one algorithm name in the request and its signature, through the packet writer', () => {
    const protocol = source('protocol/Protocol.js');
    const start = protocol.indexOf('  authPK(username, pubKey, keyAlgo, cbSign) {');
    const end = protocol.indexOf('  authHostbased(', start);
    const authPK = protocol.slice(start, end);
    expect(start).toBeGreaterThan(0);
    expect(authPK.split('packet.utf8Write(keyAlgo, p += 4, algoLen);').length - 1).toBe(3);
    expect(authPK).toContain('pubKey = pubKey.getPublicSSH();');
    expect(authPK).toContain('signature = convertSignature(signature, keyType);');
    expect(authPK).toContain('sendPacket(this, this._packetRW.write.finalize(packet));');
    expect(authPK).toContain('p = this._packetRW.write.allocStart;');
    expect(source('protocol/keyParser.js')).toContain("return (typeof val[SYM_DECRYPTED] === 'boolean');");
    expect(source('client.js')).toContain('const signature = curAuth.key.sign(buf, hashAlgo);');
  });

  it('a user certificate key offers the certificate and signs with the key; another key is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-ssh2-certs-'));
    try {
      const key = path.join(dir, 'id');
      const other = path.join(dir, 'other');
      for (const k of [key, other]) execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', k]);
      execFileSync('ssh-keygen', ['-q', '-s', key, '-I', 'id', '-n', 'u', `${key}.pub`], { stdio: 'ignore' });
      const cert = Buffer.from(fs.readFileSync(`${key}-cert.pub`, 'utf8').split(' ')[1]!, 'base64');
      const parsed = ssh2.utils.parseKey(fs.readFileSync(key));
      if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('cannot parse the key');
      const withCert = withUserCertificate(parsed, cert);
      expect(withCert.type).toBe('ecdsa-sha2-nistp256-cert-v01@openssh.com');
      expect(withCert.getPublicSSH().equals(cert)).toBe(true);
      expect(withCert.isPrivateKey()).toBe(true);
      // The signature comes out in SSH form (mpint r, mpint s), which ssh2 would not convert for a certificate type.
      const sig = withCert.sign(Buffer.from('data')) as Buffer;
      expect(sig.readUInt32BE(0)).toBeLessThanOrEqual(33);
      const otherKey = ssh2.utils.parseKey(fs.readFileSync(other));
      if (otherKey instanceof Error || Array.isArray(otherKey)) throw new Error('cannot parse the key');
      expect(() => withUserCertificate(otherKey, cert)).toThrow(/certifies another key/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every value import of ssh2 in src/ goes through transport/ssh2.ts, so the extension loads first', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.d.ts') && !p.endsWith(path.join('transport', 'ssh2.ts'))) {
          const text = fs.readFileSync(p, 'utf8');
          if (/^import (?!type\b)[^;]*from 'ssh2(\/[^']*)?';/m.test(text) && !p.endsWith('ssh2-certs.ts'))
            offenders.push(path.relative(ROOT, p));
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    expect(offenders).toEqual([]);
    // ssh2-certs.ts itself reaches only modules that do not load kex.js.
    const certs = fs.readFileSync(path.join(ROOT, 'src/transport/ssh2-certs.ts'), 'utf8');
    const deep = [...certs.matchAll(/^import (?!type\b)[^;]*from '(ssh2[^']*)';/gm)].map((m) => m[1]);
    expect(deep.sort()).toEqual([
      'ssh2/lib/protocol/constants.js',
      'ssh2/lib/protocol/keyParser.js',
      'ssh2/lib/protocol/utils.js',
    ]);
    for (const mod of ['protocol/constants.js', 'protocol/keyParser.js', 'protocol/utils.js', 'protocol/crypto.js'])
      expect(source(mod)).not.toMatch(/require\('\.\/(kex|Protocol)\.js'\)/);
  });
});

describe('extendClient watches key exchanges until curve25519 is patched (ssh2-kex.ts), certificates or not', () => {
  const protocolOf = (client: ssh2.Client): object => (client as unknown as { _protocol: object })._protocol;
  const connected = (): ssh2.Client => {
    const client = new ssh2.Client();
    client.on('error', () => {});
    client.connect({ sock: new PassThrough(), username: 'x' });
    return client;
  };

  it("a client without certificates still lets the first exchanges reach ssh2-kex.ts, and no later one's", () => {
    const first = connected();
    extendClient(first, { hostCertificates: false, userCertificates: false });
    // The watch is an accessor on the protocol's _kex: without it no exchange is ever seen, and every handshake of
    // the process pays ssh2's DER way.
    expect(Object.getOwnPropertyDescriptor(protocolOf(first), '_kex')?.set).toBeTypeOf('function');
    first.end();
    class Curve {
      type = '25519';
      _keys = null;
      generateKeys(): void {}
      getPublicKey(): Buffer {
        return Buffer.alloc(32);
      }
      computeSecret(): Buffer {
        return Buffer.alloc(32);
      }
    }
    fasterCurve25519(new Curve());
    const later = connected();
    extendClient(later, { hostCertificates: false, userCertificates: false });
    // Patched once: later held connections keep ssh2's plain protocol object (ssh2-memory.ts: smaller, faster).
    expect(Object.getOwnPropertyDescriptor(protocolOf(later), '_kex')?.set).toBeUndefined();
    later.end();
  });
});
