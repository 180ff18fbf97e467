// The worker in herd's own process (--workers 0) behaves to the pool as a worker process does: messages arrive on a
// later turn, as copies; after an uncaught error it reports once, leaves, and nothing of it is heard again; the
// handlers it puts on the process are gone with it.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultWorkers, HOSTS_PER_WORKER, WORKER_EXIT_GRACE_MS } from '../../../src/defaults.js';
import { InProcessWorker } from '../../../src/engine/in-process-worker.js';
import type { ParentMessage, WorkerConfig, WorkerMessage } from '../../../src/engine/protocol.js';
import { releaseConnections } from '../../../src/transport/connect.js';

const config = {
  concurrency: 1,
  sessions: 1,
  handshakes: 1,
  connectTimeoutMs: 1_000,
  idleTimeoutMs: 0,
  maxOutputBytes: 0,
  connectRetries: 0,
  connectRate: 0,
  keyPaths: [],
  keysExplicit: false,
  hostKeyMode: 'strict',
  knownHostsData: {},
} as unknown as WorkerConfig;

function collect(worker: InProcessWorker): { messages: WorkerMessage[]; exit: Promise<[unknown, unknown]> } {
  const messages: WorkerMessage[] = [];
  worker.on('message', (m: WorkerMessage) => messages.push(m));
  const exit = new Promise<[unknown, unknown]>((resolve) =>
    worker.once('exit', (code, signal) => resolve([code, signal])),
  );
  return { messages, exit };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const listeners = (): number[] => [
  process.listenerCount('uncaughtException'),
  process.listenerCount('unhandledRejection'),
];

/** The process handlers an in-process worker adds stay a grace period after it (WORKER_EXIT_GRACE_MS), then go. */
async function handlersBack(before: number[]): Promise<void> {
  const until = Date.now() + WORKER_EXIT_GRACE_MS + 2_000;
  while (Date.now() < until && listeners().join() !== before.join()) await new Promise((r) => setTimeout(r, 50));
  expect(listeners()).toEqual(before);
}

const raise = (message: string): boolean =>
  (process.emit as (event: string, ...args: unknown[]) => boolean)('uncaughtException', new Error(message));

describe('the in-process worker', () => {
  const before = listeners();
  afterEach(() => handlersBack(before), 10_000);

  it('takes a message on a later turn, as a copy, and answers on a later turn', async () => {
    const worker = new InProcessWorker();
    const { messages } = collect(worker);
    const init: ParentMessage = { kind: 'init', config: { ...config } };
    const sent: (Error | null)[] = [];
    expect(worker.send(init, (err) => sent.push(err))).toBe(true);
    (init as { config: WorkerConfig }).config.sessions = -5; // changed after sending: the worker has its copy
    expect(sent).toEqual([]);
    await turn();
    expect(sent).toEqual([null]);
    expect(messages).toEqual([]);
    await turn();
    expect(messages).toEqual([{ kind: 'ready', problems: [] }]);
    worker.send({ kind: 'shutdown' }, () => {});
    await new Promise((resolve) => worker.once('exit', resolve));
    expect(worker.connected).toBe(false);
  });

  it('a message it cannot take (a job before init) is fatal: one worker_fatal, then exit 70, then silence', async () => {
    const worker = new InProcessWorker();
    const { messages, exit } = collect(worker);
    worker.send({ kind: 'pass', task: { kind: 'connect' }, keep: false }, () => {});
    expect(await exit).toEqual([70, null]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ kind: 'worker_fatal', error: { message: 'pass received before init' } });
    const late: (Error | null)[] = [];
    expect(worker.send({ kind: 'shutdown' }, (err) => late.push(err))).toBe(false);
    await turn();
    expect(late[0]?.message).toBe('the in-process worker has stopped');
    expect(messages).toHaveLength(1);
  });

  it('takes an uncaught error in herd while it runs as its own: worker_fatal, exit 70', async () => {
    const worker = new InProcessWorker();
    const { messages, exit } = collect(worker);
    expect(listeners()).toEqual(before.map((n) => n + 1));
    raise('a bug in a callback');
    expect(await exit).toEqual([70, null]);
    expect(messages).toMatchObject([{ kind: 'worker_fatal', error: { message: 'a bug in a callback' } }]);
  });

  it('takes a second uncaught error silently while the first failure is on its way out, then lets go', async () => {
    // Its jobs go on a moment after it failed (until they meet its cut connections): the same bug in a second host
    // must not end herd with every host unrecorded.
    const worker = new InProcessWorker();
    const { messages, exit } = collect(worker);
    raise('bug A');
    raise('bug B');
    expect(await exit).toEqual([70, null]);
    raise('bug C');
    expect(listeners()).toEqual(before.map((n) => n + 1));
    await turn();
    expect(messages).toMatchObject([{ kind: 'worker_fatal', error: { message: 'bug A' } }]);
  });

  it('hands an uncaught error to the live worker, not to one that failed before it', async () => {
    const first = new InProcessWorker();
    const failed = collect(first);
    raise('bug A');
    expect(await failed.exit).toEqual([70, null]);
    const second = new InProcessWorker();
    const live = collect(second);
    raise('bug B');
    expect(await live.exit).toEqual([70, null]);
    expect(live.messages).toMatchObject([{ kind: 'worker_fatal', error: { message: 'bug B' } }]);
    expect(failed.messages).toHaveLength(1);
  });

  it('killed, it exits with the signal at once', async () => {
    const worker = new InProcessWorker();
    const { exit } = collect(worker);
    expect(worker.kill('SIGKILL')).toBe(true);
    expect(await exit).toEqual([null, 'SIGKILL']);
    expect(worker.kill('SIGKILL')).toBe(false);
  });
});

describe('releasing the connections of an in-process worker', () => {
  it('release leaves one not yet ended open, the function it returns cuts those same ones', async () => {
    const server = net.createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      // A connection as connectSsh opens one (tracked): here through the same path, by a refused handshake.
      const { connectSsh } = await import('../../../src/transport/connect.js');
      const attempt = connectSsh({
        host: '127.0.0.1',
        port,
        username: 'nobody',
        credentials: { keys: [] },
        connectTimeoutMs: 5_000,
        hostKeyMode: 'off',
        knownEntries: { exact: [], bare: [] },
      } as never).catch((err: Error) => err);
      await new Promise((resolve) => server.once('connection', resolve));
      const cut = releaseConnections('release');
      await turn();
      const settledEarly = await Promise.race([attempt.then(() => true), turn().then(() => false)]);
      expect(settledEarly).toBe(false);
      cut();
      expect(await attempt).toBeInstanceOf(Error);
    } finally {
      server.close();
    }
  });
});

describe('workers when --workers is not given', () => {
  it(`none below ${HOSTS_PER_WORKER} hosts but for a transfer; then one per ${HOSTS_PER_WORKER} hosts`, () => {
    expect(defaultWorkers(1)).toBe(0);
    expect(defaultWorkers(HOSTS_PER_WORKER - 1)).toBe(0);
    expect(defaultWorkers(1, true)).toBe(1);
    expect(defaultWorkers(HOSTS_PER_WORKER)).toBe(1);
    expect(defaultWorkers(HOSTS_PER_WORKER + 1)).toBe(Math.min(2, defaultWorkers()));
  });
});
