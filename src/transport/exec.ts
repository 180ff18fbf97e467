// Run one command on an open connection, streaming its output, with a timeout that kills the remote side.
import type { Client, ClientChannel } from 'ssh2';
import { HostFailure } from './failure.js';
import { randomBytes } from 'node:crypto';
import {
  buildKillCommand,
  buildProbeCommand,
  probeAnswer,
  buildRemoteCommand,
  sudoPromptMarker,
  type BecomeSpec,
  type WrapperForm,
} from './remote-command.js';

export interface ExecOptions {
  /** 0 means no timeout. */
  timeoutMs: number;
  /** --idle-timeout: stop the command after this long without output on stdout or stderr; 0 means never. */
  idleTimeoutMs?: number;
  /** Unique per host and command; tags the remote processes (see remote-command.ts). */
  tag: string;
  /** Data fed to the command's stdin, then stdin is closed. */
  stdin?: Buffer | string;
  /** Run through sudo (as `user`, else root); the password (if any) is written to stdin first. */
  become?: BecomeOptions;
  /** Aborting kills the remote command and reports `aborted`. */
  signal?: AbortSignal;
  /** A returned promise means "hold on": the channel is paused (and the host's sender blocks) until it settles. */
  onStdout: (chunk: Buffer) => OutputFlow;
  onStderr: (chunk: Buffer) => OutputFlow;
}

/** What an output consumer answers: nothing to go on, or a promise to wait for before reading more. */
export type OutputFlow = void | Promise<void>;

export interface ExecOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Stopped by --idle-timeout (timedOut is false then). */
  idle: boolean;
  aborted: boolean;
  /** Remote processes killed after a timeout (null when the kill could not be confirmed). */
  killed?: number | null;
  /** Tagged processes still on the host when the kill stopped waiting for them (0: verified gone). */
  killSurvivors?: number;
  /** When a limit (--timeout, --idle-timeout) or an abort stopped the command (epoch ms): its duration ends there. */
  stoppedAt?: number;
  /** The connection went away before the command reported an exit status. */
  connectionLost: boolean;
  /** Why, when herd itself gave the connection up (unanswered keepalives; see connect.ts). */
  lostReason?: string;
}

/** The remote kill waits ~1 s at most for its processes to die (remote-command.ts); this bounds the whole channel. */
const KILL_COMMAND_TIMEOUT_MS = 3_000;

interface OpenedChannel {
  channel: ClientChannel;
  /** Filled by an 'exit' listener attached inside the exec callback. */
  exit: { seen: boolean; code: number | null; signal: string | null };
}

/**
 * Open a session channel for `command`; rejects only when the channel itself cannot be opened.
 * The exit listener must be attached inside ssh2's callback: when the channel-success, the output,
 * the exit status and the close arrive in one TCP read, ssh2 emits 'exit' synchronously right
 * after the callback, before any awaiting code could listen.
 */
function openExec(client: Client, command: string): Promise<OpenedChannel> {
  return new Promise((resolve, reject) => {
    const attempt = (retry: number): void =>
      void client.exec(command, (err, channel) => {
        if (err) {
          // Refused before anything ran: asked again (see CHANNEL_RETRY_MS), else the host failed.
          const wait = CHANNEL_RETRY_MS[retry];
          if (RETRIED_REFUSALS.has((err as { reason?: unknown }).reason) && wait !== undefined) {
            setTimeout(() => {
              try {
                attempt(retry + 1);
              } catch (gone) {
                reject(channelFailure(gone as Error));
              }
            }, wait);
            return;
          }
          return reject(channelFailure(err));
        }
        const exit = { seen: false, code: null as number | null, signal: null as string | null };
        channel.on('exit', (code: number | null, sig?: string) => {
          exit.seen = true;
          exit.code = typeof code === 'number' ? code : null;
          exit.signal = sig ?? null;
        });
        resolve({ channel, exit });
      });
    attempt(0);
  });
}

const channelFailure = (err: Error): HostFailure =>
  new HostFailure('unreachable', 'E_CHANNEL', `could not open a session channel: ${err.message}`, { cause: err });

/**
 * SSH_MSG_CHANNEL_OPEN_FAILURE reasons asked again: administratively prohibited (1), connect failed (2: OpenSSH's
 * sshd for a session it cannot create, MaxSessions reached among others), resource shortage (4). Not an unknown
 * channel type (3): that answer will not change.
 */
const RETRIED_REFUSALS = new Set<unknown>([1, 2, 4]);
/**
 * Pauses before asking again for a session channel the host refused. sshd frees the session of a channel that just
 * closed only at the end of the loop turn that read its close: an open read in the same turn (the next command,
 * right after the last closed) is refused on a host that allows one session at a time (MaxSessions 1).
 */
const CHANNEL_RETRY_MS = [10, 50, 200];

export interface BecomeOptions {
  password?: string;
  /** sudo -u; root when absent. */
  user?: string;
}

function becomeSpecOf(become: BecomeOptions | undefined, promptMarker: string | undefined): BecomeSpec | undefined {
  if (!become) return undefined;
  return { ...(promptMarker ? { promptMarker } : {}), ...(become.user !== undefined ? { user: become.user } : {}) };
}

/**
 * Execute a command; resolves once the channel closes, never rejects after the command started. `form`: how the
 * login shell is asked to run it (portable unless a probe of this connection showed a shorter form works).
 */
export async function execCommand(
  client: Client,
  command: string,
  options: ExecOptions,
  form: WrapperForm = 'portable',
): Promise<ExecOutcome> {
  const password = options.become?.password;
  const marker = password !== undefined ? sudoPromptMarker(options.tag) : undefined;
  const becomeSpec = becomeSpecOf(options.become, marker);
  const { channel, exit } = await openExec(client, buildRemoteCommand(command, options.tag, becomeSpec, form));
  return new Promise<ExecOutcome>((resolve) => {
    let timedOut = false;
    let idle = false;
    let aborted = false;
    let killed: number | null | undefined;
    let killSurvivors: number | undefined;
    let stoppedAt: number | undefined;
    let killing: Promise<void> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let lostReason: string | undefined;
    // ssh2 gives up a silent connection with a 'client-timeout' error (the keepalive): say so, not just "lost".
    const onClientError = (err: Error & { level?: string }): void => {
      if (err.level === 'client-timeout') lostReason = err.message;
    };
    client.on('error', onClientError);

    const idleMs = options.idleTimeoutMs ?? 0;
    let idleTimer: NodeJS.Timeout | undefined;
    const heardFrom = (): void => {
      if (idleMs <= 0 || killing) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        idle = true;
        stop();
      }, idleMs);
    };
    heardFrom();
    // Backpressure: while the consumer is behind, stop reading; the SSH window then stops the host's writes.
    let paused = false;
    const flow = (wait: OutputFlow): void => {
      if (!wait || paused) return;
      paused = true;
      channel.pause();
      channel.stderr.pause();
      clearTimeout(idleTimer);
      void wait.then(() => {
        paused = false;
        channel.resume();
        channel.stderr.resume();
        heardFrom();
      });
    };
    // An exception in the output handlers belongs to this connection whoever delivers the data: ssh2's
    // parser (which reports what it catches as the client's error), or a paused stream resuming on a
    // later tick (where nothing would catch it and the whole worker would go). Reported the same way.
    const contained =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A): void => {
        try {
          fn(...args);
        } catch (err) {
          client.emit('error', err instanceof Error ? err : new Error(String(err)));
        }
      };
    channel.on(
      'data',
      contained((chunk: Buffer) => {
        heardFrom();
        flow(options.onStdout(chunk));
      }),
    );
    let prompted = false;
    let stderrHead = '';
    channel.stderr.on(
      'data',
      contained((chunk: Buffer) => {
        heardFrom();
        if (marker === undefined || prompted) return flow(options.onStderr(chunk));
        // Until sudo has asked, hold stderr back and look for its prompt (it may arrive split).
        stderrHead += chunk.toString('latin1');
        const at = stderrHead.indexOf(marker);
        if (at < 0) {
          if (stderrHead.length > 64 * 1024) {
            options.onStderr(Buffer.from(stderrHead, 'latin1'));
            stderrHead = '';
          }
          return;
        }
        prompted = true;
        channel.end(`${password}\n${options.stdin ?? ''}`);
        const rest = stderrHead.slice(0, at) + stderrHead.slice(at + marker.length);
        stderrHead = '';
        if (rest !== '') options.onStderr(Buffer.from(rest, 'latin1'));
      }),
    );
    channel.on('error', () => {
      /* a channel error is followed by close; the outcome says what we know */
    });
    // ssh2 emits 'close' once stdout has ended, whatever stderr still holds: a stderr paused by
    // backpressure would deliver its rest after this host's result, and it would be lost. Wait for it.
    const stderrDone = (then: () => void): void => {
      const err = channel.stderr;
      if (err.readableEnded || err.destroyed) then();
      else {
        let once = false;
        const go = (): void => {
          if (once) return;
          once = true;
          then();
        };
        err.once('end', go);
        err.once('close', go);
      }
    };
    const closed = (): void => {
      client.off('error', onClientError);
      if (timer) clearTimeout(timer);
      clearTimeout(idleTimer);
      if (stderrHead !== '') options.onStderr(Buffer.from(stderrHead, 'latin1'));
      const finish = (): void =>
        resolve({
          exitCode: exit.code,
          signal: exit.signal,
          timedOut,
          idle,
          aborted,
          killed,
          ...(killSurvivors !== undefined ? { killSurvivors } : {}),
          ...(stoppedAt !== undefined ? { stoppedAt } : {}),
          connectionLost: !exit.seen && !timedOut && !idle && !aborted,
          ...(!exit.seen && lostReason !== undefined ? { lostReason } : {}),
        });
      if (killing) killing.then(finish, finish);
      else finish();
    };
    channel.on('close', () => stderrDone(closed));

    const stop = (): void => {
      if (killing) return;
      stoppedAt = Date.now();
      killing = killRemote(client, options.tag, options.become, form === 'direct').then((report) => {
        killed = report?.killed ?? null;
        if (report) killSurvivors = report.left;
        channel.close();
      });
    };
    if (options.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs);
    }
    const onAbort = (): void => {
      if (exit.seen || timedOut || idle) return;
      aborted = true;
      stop();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    channel.once('close', () => options.signal?.removeEventListener('abort', onAbort));

    // With a sudo password, stdin stays open until sudo asks (see the stderr handler). A channel already closed
    // (its success, exit and close came in one read: ssh2 ended it) takes no end(): Node would build an error
    // nobody sees.
    if (marker === undefined && !channel.writableEnded) {
      if (options.stdin !== undefined) channel.end(options.stdin);
      else channel.end();
    }
  });
}

/**
 * Best effort: SIGKILL every tagged process on the host over a fresh channel; null when it cannot say.
 * `byCommandLine`: the command ran in the direct form (its login shell has the tag in its command line only).
 */
async function killRemote(
  client: Client,
  tag: string,
  become?: BecomeOptions,
  byCommandLine = false,
): Promise<KillReport | null> {
  try {
    // The kill runs as the command's user too (its processes may be root's, or only that user's to read and signal).
    // Our kill script never reads stdin, so writing the password up front cannot leak it.
    const spec = becomeSpecOf(become, become?.password !== undefined ? sudoPromptMarker(`${tag}k`) : undefined);
    const { channel } = await openExec(client, buildKillCommand(tag, spec, byCommandLine));
    return await new Promise<KillReport | null>((resolve) => {
      let out = '';
      const timer = setTimeout(() => {
        channel.close();
        resolve(null);
      }, KILL_COMMAND_TIMEOUT_MS);
      channel.on('data', (d: Buffer) => (out += d.toString()));
      channel.stderr.on('data', () => {});
      channel.on('error', () => {});
      channel.on('close', () => {
        clearTimeout(timer);
        resolve(parseKillReport(out));
      });
      channel.end(become?.password !== undefined ? `${become.password}\n` : undefined);
    });
  } catch {
    return null;
  }
}

/** How long a probe of the login shell may take; past it, the portable form stays. */
const PROBE_TIMEOUT_MS = 5_000;
/** A probe's stdout past this is not the tag: reading stops. */
const PROBE_OUTPUT_MAX = 256;

/**
 * Which wrapper (remote-command.ts) this connection's login shell runs: the probe must print exactly what one of
 * the forms answers (probeAnswer), say nothing on stderr and exit 0. A csh or a restricted shell fails it (then the
 * portable form stays); what the host prints is compared, never interpreted.
 */
export async function probeLoginShell(client: Client, signal?: AbortSignal): Promise<WrapperForm> {
  if (signal?.aborted) return 'portable';
  const tag = randomBytes(8).toString('hex');
  let opened: OpenedChannel | undefined;
  let settled = false;
  let settle!: (form: WrapperForm) => void;
  const answer = new Promise<WrapperForm>((resolve) => {
    settle = (form) => {
      settled = true;
      resolve(form);
    };
  });
  // Bounded from the start, the channel's opening included. A probe given up (past the bound, or stopped with its
  // command) has its processes on the host killed by their tag, as a command's are.
  const giveUp = (): void => {
    if (settled) return;
    settle('portable');
    // Its text starts with the direct form's prefix: a login shell that ran it itself is found by its command line.
    void killRemote(client, tag, undefined, true).finally(() => opened?.channel.close());
  };
  const timer = setTimeout(giveUp, PROBE_TIMEOUT_MS);
  signal?.addEventListener('abort', giveUp, { once: true });
  openExec(client, buildProbeCommand(tag)).then(
    (channelOpened) => {
      opened = channelOpened;
      const { channel, exit } = channelOpened;
      channel.on('error', () => {});
      // Too late (the bound, or the command was stopped): nothing is asked any more.
      if (settled) return void channel.close();
      let out = '';
      let spoke = false;
      channel.on('data', (d: Buffer) => {
        if (out.length <= PROBE_OUTPUT_MAX) out += d.toString('latin1');
      });
      channel.stderr.on('data', () => (spoke = true));
      channel.on('close', () => settle(exit.seen && exit.code === 0 && !spoke ? probeAnswer(tag, out) : 'portable'));
      if (!channel.writableEnded) channel.end();
    },
    () => settle('portable'),
  );
  try {
    return await answer;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', giveUp);
  }
}

interface KillReport {
  killed: number;
  /** Tagged processes still there when the script stopped waiting. */
  left: number;
}

/** The kill script's `KILLED LEFT` line (remote-command.ts); anything else means the kill cannot be vouched for. */
export function parseKillReport(text: string): KillReport | null {
  const m = /^(\d+) (\d+)$/.exec(text.trim());
  return m ? { killed: Number(m[1]), left: Number(m[2]) } : null;
}
