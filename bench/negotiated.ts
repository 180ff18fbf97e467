// What herd's SSH library negotiates with the bench fleet's sshd (herd leaves ssh2's key exchange and cipher
// order alone and puts ssh-ed25519 first among host keys): the peers are given the same algorithms, so the
// bench compares the tools, not their ciphers (OpenSSH's own default key exchange, sntrup761x25519, costs
// several times curve25519's CPU on both ends).
import fs from 'node:fs';
import { Client } from 'ssh2';

export interface Negotiated {
  kex: string;
  hostKey: string;
  cipher: string;
  mac: string;
}

export function negotiate(host: string, port: number, username: string, keyPath: string): Promise<Negotiated> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let found: Negotiated | undefined;
    client.on('handshake', (n) => {
      found = { kex: n.kex, hostKey: n.serverHostKey, cipher: n.cs.cipher, mac: n.cs.mac };
    });
    client.on('ready', () => {
      client.end();
      if (found) resolve(found);
      else reject(new Error('ssh2 reported no handshake'));
    });
    client.on('error', reject);
    client.connect({ host, port, username, privateKey: fs.readFileSync(keyPath), readyTimeout: 30_000 });
  });
}

/** An AEAD cipher carries its own integrity: no MAC is negotiated beside it. */
const aead = (n: Negotiated): boolean => n.mac === '' || /gcm|chacha20-poly1305/.test(n.cipher);

/** OpenSSH client options that make ssh negotiate exactly these algorithms. */
export function sameAlgorithms(n: Negotiated): string[] {
  return [
    '-o',
    `KexAlgorithms=${n.kex}`,
    '-o',
    `HostKeyAlgorithms=${n.hostKey}`,
    '-o',
    `Ciphers=${n.cipher}`,
    ...(aead(n) ? [] : ['-o', `MACs=${n.mac}`]),
  ];
}

export function describeAlgorithms(n: Negotiated): string {
  return `every tool negotiates kex ${n.kex}, host key ${n.hostKey}, cipher ${n.cipher}${aead(n) ? '' : `, MAC ${n.mac}`} (what herd's ssh2 chose; the OpenSSH peers get it with -o)`;
}
