// A network namespace joined to this one by a veth pair: a host inside it is reachable only at
// its veth address, and its loopback only from inside. Root only; every test that makes one removes it.
import { execFileSync } from 'node:child_process';
import { isRoot } from './fleet.js';

const IP = '/usr/sbin/ip';

export interface Netns {
  name: string;
  /** This side of the veth pair. */
  outerAddress: string;
  /** The namespace's side: what hosts outside can reach. */
  innerAddress: string;
  /** Make innerAddress a black hole: frames go to a MAC nobody has, so a TCP connect hangs until its timeout. */
  blackhole(): void;
  remove(): void;
}

const ip = (...args: string[]): void => {
  execFileSync(IP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

export function createNetns(): Netns {
  const id = `${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
  const name = `herd-${id}`;
  const outer = `hv${id}a`;
  const inner = `hv${id}b`;
  const subnet = 1 + (process.pid % 250);
  const outerAddress = `10.231.${subnet}.1`;
  const innerAddress = `10.231.${subnet}.2`;
  ip('netns', 'add', name);
  try {
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', name);
    ip('addr', 'add', `${outerAddress}/30`, 'dev', outer);
    ip('link', 'set', outer, 'up');
    ip('netns', 'exec', name, IP, 'addr', 'add', `${innerAddress}/30`, 'dev', inner);
    ip('netns', 'exec', name, IP, 'link', 'set', inner, 'up');
    ip('netns', 'exec', name, IP, 'link', 'set', 'lo', 'up');
  } catch (err) {
    ip('netns', 'del', name);
    throw err;
  }
  return {
    name,
    outerAddress,
    innerAddress,
    blackhole: () =>
      ip('neigh', 'replace', innerAddress, 'lladdr', '02:00:00:00:00:01', 'dev', outer, 'nud', 'permanent'),
    // Deleting the namespace deletes its end of the veth pair, and so the pair.
    remove: () => ip('netns', 'del', name),
  };
}

/** Whether this machine lets the tests make namespaces (root with iproute2, and the kernel allows it). */
export function canCreateNetns(): boolean {
  if (!isRoot()) return false;
  try {
    createNetns().remove();
    return true;
  } catch {
    return false;
  }
}
