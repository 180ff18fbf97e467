// The keeper's socket speaks length-prefixed frames: a 4-byte big-endian length, then the value in V8's
// serialization (what the pool's IPC uses: output stays bytes). A frame over the cap ends the connection.
import { createRequire } from 'node:module';
import type { HostJob, ParentMessage, WorkerConfig, WorkerMessage } from '../engine/protocol.js';
import type { YoungGeneration } from '../engine/worker-process.js';

const MAX_FRAME = 256 * 1024 * 1024;

// node:v8 on first use, not at load: every herd command loads this module (it looks for a keeper), and node:v8 with
// what it pulls in is ~2.5 ms of each start; only a command that speaks to a keeper needs it.
// A built-in resolves the same from any base: node's own path is absolute in every build, the single executable's too
// (where import.meta.url is not a file's URL).
let v8Module: typeof import('node:v8') | undefined;
const v8 = (): typeof import('node:v8') =>
  (v8Module ??= createRequire(process.execPath)('node:v8') as typeof import('node:v8'));

/** What a held connection is, for `herd connections`. */
export interface HeldHost {
  id: string;
  user: string;
  host: string;
  port: number;
}

export interface KeeperInfo {
  pid: number;
  startedAt: number;
  /** When the last command left (or the keeper started); null while one is attached. */
  idleSince: number | null;
  idleMs: number;
  hosts: HeldHost[];
}

/**
 * Client -> keeper. The first frame of every connection is a hello carrying the token and the client's pid (the
 * keeper asks Linux whether that process holds the other end of the socket, and as which uid).
 */
export type ClientFrame =
  | Hello
  | { t: 'open'; w: number; young: YoungGeneration }
  | { t: 'msg'; w: number; m: ParentMessage }
  | { t: 'kill'; w: number }
  /** The command is over; env: its trust files as they are now (accept-new may have added keys). */
  | { t: 'bye'; env: string };

export type Hello = { t: 'hello'; token: string; pid: number } & (
  { identity: string; env: string; persistMs: number | null; want: 'session' } | { want: 'info' } | { want: 'close' }
);

/** Keeper -> client. */
export type KeeperFrame =
  | { t: 'welcome'; held: string[][] }
  | { t: 'refused'; why: 'busy' | 'changed' | 'identity' }
  | { t: 'info'; info: KeeperInfo }
  | { t: 'closing' }
  | { t: 'opened'; w: number; pid: number | undefined }
  | { t: 'msg'; w: number; m: WorkerMessage }
  | { t: 'exit'; w: number; code: number | null; signal: NodeJS.Signals | null };

export function encodeFrame(value: ClientFrame | KeeperFrame): Buffer {
  const body = v8().serialize(value);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into frames; throws on a frame over the cap (the caller drops the peer). */
export class FrameReader<T> {
  private pending: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): T[] {
    this.pending.push(chunk);
    this.size += chunk.length;
    const out: T[] = [];
    let buffer = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    let offset = 0;
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32BE(offset);
      if (length > MAX_FRAME) throw new Error(`frame of ${length} bytes`);
      if (buffer.length - offset - 4 < length) break;
      out.push(v8().deserialize(buffer.subarray(offset + 4, offset + 4 + length)) as T);
      offset += 4 + length;
    }
    buffer = buffer.subarray(offset);
    this.pending = buffer.length > 0 ? [buffer] : [];
    this.size = buffer.length;
    return out;
  }
}

/** The config a keeper's worker may keep between commands: no password, no key passphrase. */
export function withoutSecrets(config: WorkerConfig): WorkerConfig {
  const { password: _password, keyPassphrase: _passphrase, ...rest } = config;
  return rest;
}

/** What a host job's connection is: a held connection serves only a job with the same. */
export function connectionOf(job: HostJob): string {
  const {
    tag: _tag,
    fromStep: _from,
    toStep: _to,
    afterEarlierSteps: _after,
    inventoryVars: _vars,
    hostKeyAliasSharedBy: _shared,
    ...connection
  } = job;
  return JSON.stringify(connection);
}
