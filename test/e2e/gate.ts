// Tests that act mid-run wait for what the run is doing, never for a sleep to be long enough: the remote
// command announces itself with a marker file and then blocks until the test releases it.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { scratchDir } from './herd-cli.js';

export interface Gate {
  /** The gate's directory: every remote command of the gate names it (to find its processes). */
  dir: string;
  /** `sh` text: mark this host started (the marker holds $SSH_CONNECTION), wait for the release, then run `after`. */
  command(after: string): string;
  /** Hosts whose command has started, by the address it was reached on. */
  started(): string[];
  /** $SSH_CONNECTION of a started host: "client_ip client_port server_ip server_port". */
  connection(host: string): string;
  /** `sh` text that waits until `n` commands of this gate have started (a barrier on the hosts themselves). */
  awaitStarted(n: number): string;
  /** Let every waiting (and every later) command go on. */
  release(): void;
}

/** A gate in a scratch directory the fleet's login user can write (the fleet does not log in as root). */
export function openGate(): Gate {
  const dir = scratchDir('herd-gate-');
  const started = path.join(dir, 'started');
  fs.mkdirSync(started);
  fs.chmodSync(dir, 0o777);
  fs.chmodSync(started, 0o777);
  const release = path.join(dir, 'release');
  return {
    dir,
    command: (after) =>
      `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3); ` +
      `echo "$SSH_CONNECTION" > ${started}/$me.tmp && mv ${started}/$me.tmp ${started}/$me; ` +
      `while [ ! -e ${release} ]; do sleep 0.05; done; ${after}`,
    started: () => fs.readdirSync(started).filter((f) => !f.endsWith('.tmp')),
    awaitStarted: (n) => `while [ $(ls ${started} | grep -vc tmp) -lt ${n} ]; do sleep 0.05; done`,
    connection: (host) => fs.readFileSync(path.join(started, host), 'utf8').trim(),
    release: () => fs.writeFileSync(release, ''),
  };
}

/** Poll `check` until it holds; a generous deadline only turns a hang into a clear failure. */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves once the child's stderr so far matches `pattern` (herd's own notes, e.g. that it saw a signal). */
export function stderrMatches(child: ChildProcess, pattern: RegExp): Promise<void> {
  return streamMatches(child, 'stderr', pattern);
}

/** Resolves once the child's stdout so far matches `pattern` (e.g. a --json event). */
export function stdoutMatches(child: ChildProcess, pattern: RegExp): Promise<void> {
  return streamMatches(child, 'stdout', pattern);
}

function streamMatches(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<void> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (!pattern.test(seen)) return;
      child[stream]?.off('data', onData);
      resolve();
    };
    child[stream]?.on('data', onData);
    child.once('close', () => reject(new Error(`herd ended before its ${stream} matched ${pattern}:\n${seen}`)));
  });
}

export interface Driver {
  onSpawn: (child: ChildProcess) => void;
  failure: () => unknown;
}

/**
 * Drive a running herd from `onSpawn`: `steps` runs against the child; a step that fails kills herd
 * and is kept, so the test reports it (`failure()`) rather than an unhandled rejection.
 */
export function driver(steps: (child: ChildProcess) => Promise<void>): Driver {
  let failed: unknown;
  return {
    onSpawn: (child) =>
      void steps(child).catch((err: unknown) => {
        failed ??= err;
        child.kill('SIGKILL');
      }),
    failure: () => failed,
  };
}

/** Started hosts of `gate` whose connection process `pid` holds: $SSH_CONNECTION's client port and server address. */
export function hostsHeldBy(pid: number, gate: Gate): string[] {
  const held = tcpConnectionsOf(pid);
  return gate.started().filter((h) => {
    const [, port, serverIp] = gate.connection(h).split(' ');
    return held.has(`${port} ${serverIp}`);
  });
}

/** "client_port server_ip" of every TCP connection process `pid` holds (Linux /proc: its fds, then /proc/net/tcp). */
function tcpConnectionsOf(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed while we looked
    }
  }
  const ipv4 = (hex: string): string =>
    hex
      .match(/../g)!
      .reverse()
      .map((b) => parseInt(b, 16))
      .join('.');
  const keys = new Set<string>();
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').trim().split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (!inodes.has(f[9]!)) continue;
    const [, localPort] = f[1]!.split(':');
    const [remoteIp] = f[2]!.split(':');
    keys.add(`${parseInt(localPort!, 16)} ${ipv4(remoteIp!)}`);
  }
  return keys;
}
