// The fleet simulator process: one Node process speaking real SSH (ssh2's Server: key exchange,
// public-key and password authentication, session channels, exec) on 0.0.0.0, so that every
// 127.x.y.z address is a host, as with the tests' sshd; what each host does is chosen by the
// address the client dialled (spec.ts). A benchmark and test tool: one OpenSSH sshd cannot hold
// 10,000 sessions on one machine (two processes and megabytes per session), this can.
//
//   node dist/test/fleet/sim/server.js --host-key FILE --authorized-key FILE.pub [--user NAME]
//     [--spec FILE] [--port N] [--max-seconds S]        (password: env HERD_SIM_PASSWORD)
//
// Prints `herd-sim listening on 0.0.0.0:PORT pid PID` once ready, and counters on exit. Bounded:
// exits after --max-seconds (default 3600), when its parent dies, or on SIGTERM/SIGINT.
import fs from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ParsedKey, ServerChannel } from 'ssh2';
import {
  behaviourOf,
  parseExec,
  parseSpec,
  SimSyntaxError,
  SpecError,
  type Exec,
  type Rule,
  type Script,
} from './spec.js';

const { values } = parseArgs({
  options: {
    'host-key': { type: 'string' },
    'authorized-key': { type: 'string' },
    user: { type: 'string' },
    spec: { type: 'string' },
    port: { type: 'string', default: '0' },
    'max-seconds': { type: 'string', default: '3600' },
  },
});

function die(message: string): never {
  process.stderr.write(`herd-sim: ${message}\n`);
  process.exit(2);
}

if (!values['host-key'] || !values['authorized-key']) die('--host-key and --authorized-key are required');
let rules: Rule[] = [];
try {
  if (values.spec) rules = parseSpec(fs.readFileSync(values.spec, 'utf8'), values.spec);
} catch (err) {
  die(err instanceof SpecError ? err.message : `cannot read --spec: ${(err as Error).message}`);
}
const parsedKey = ssh2.utils.parseKey(fs.readFileSync(values['authorized-key'], 'utf8'));
if (parsedKey instanceof Error) die(`--authorized-key: ${parsedKey.message}`);
const authorized: ParsedKey = parsedKey;
const authorizedBlob = authorized.getPublicSSH();
const password = process.env['HERD_SIM_PASSWORD'];
const user = values.user;

// running/peakRunning: commands in progress, so a benchmark can tell how many sessions were really concurrent.
const stats = {
  connections: 0,
  hung: 0,
  closed: 0,
  authOk: 0,
  authRejected: 0,
  execs: 0,
  kills: 0,
  errors: 0,
  running: 0,
  peakRunning: 0,
};

// One shared block of output for `bytes N`: 64 KiB of 63 x's and a newline, never copied per host.
const BLOCK = Buffer.alloc(65536, 'x');
for (let i = 63; i < BLOCK.length; i += 64) BLOCK[i] = 10;

/** Running exec channels by herd's job tag, for its remote kill; only tagged commands are entered. */
const byTag = new Map<string, Set<Running>>();

interface Running {
  channel: ServerChannel;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

function finish(run: Running, tag: string | null, code: number | 'KILL'): void {
  if (run.done) return;
  run.done = true;
  stats.running--;
  clearTimeout(run.timer);
  if (tag !== null) {
    const set = byTag.get(tag);
    set?.delete(run);
    if (set?.size === 0) byTag.delete(tag);
  }
  const ch = run.channel;
  if (!ch.writable) return;
  if (code === 'KILL') ch.exit('KILL', false, '');
  else ch.exit(code);
  ch.end();
}

function write(ch: ServerChannel, stderr: boolean, data: Buffer | string): boolean {
  return stderr ? ch.stderr.write(data) : ch.write(data);
}

/** Run a script step by step on a channel; timers and drains are the only waits. */
function runScript(run: Running, script: Script, address: string, tag: string | null): void {
  let status = 0;
  let i = 0;
  const next = (): void => {
    while (!run.done) {
      const step = script[i++];
      if (!step) return finish(run, tag, status);
      if (step.and && status !== 0) continue;
      const op = step.op;
      switch (op.op) {
        case 'status':
          status = op.code;
          break;
        case 'exit':
          return finish(run, tag, op.code);
        case 'echo':
          write(run.channel, op.stderr, op.text);
          status = 0;
          break;
        case 'addr':
          write(run.channel, false, address + '\n');
          status = 0;
          break;
        case 'unknown':
          write(run.channel, true, `sh: 1: ${op.name}: not found\n`);
          status = 127;
          break;
        case 'sleep':
          status = 0;
          run.timer = setTimeout(next, op.ms);
          return;
        case 'bytes': {
          let left = op.n;
          const pump = (): void => {
            while (left > 0 && !run.done) {
              const chunk = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
              left -= chunk.length;
              if (!write(run.channel, op.stderr, chunk)) {
                (op.stderr ? run.channel.stderr : run.channel).once('drain', pump);
                return;
              }
            }
            status = 0;
            next();
          };
          pump();
          return;
        }
        default: {
          const never: never = op;
          throw new Error(`unhandled op ${JSON.stringify(never)}`);
        }
      }
    }
  };
  next();
}

function kill(tag: string): number {
  const set = byTag.get(tag);
  if (!set) return 0;
  const n = set.size;
  for (const run of [...set]) finish(run, tag, 'KILL');
  stats.kills += n;
  return n;
}

function onExec(channel: ServerChannel, command: string, address: string, forced: Script | null): void {
  stats.execs++;
  stats.peakRunning = Math.max(stats.peakRunning, ++stats.running);
  const run: Running = { channel, timer: undefined, done: false };
  let exec: Exec;
  try {
    exec = parseExec(command);
  } catch (err) {
    if (!(err instanceof SimSyntaxError)) throw err;
    if (forced) exec = { kind: 'script', tag: null, script: forced };
    else {
      write(channel, true, `sh: syntax error at column ${err.column}: ${err.message}\n`);
      return finish(run, null, 2);
    }
  }
  // herd's kill reaches the host whatever the spec forces it to run, so --timeout works on `run sleep N` hosts.
  if (exec.kind === 'kill') {
    write(channel, false, `${kill(exec.tag)} 0\n`);
    return finish(run, null, 0);
  }
  const tag = exec.tag;
  const script = forced ?? exec.script;
  if (tag !== null) {
    let set = byTag.get(tag);
    if (!set) byTag.set(tag, (set = new Set()));
    set.add(run);
  }
  channel.on('close', () => finish(run, tag, 0));
  runScript(run, script, address, tag);
}

function checkAuth(ctx: AuthContext, address: string): void {
  const deny = (): void => {
    stats.authRejected++;
    ctx.reject(password === undefined ? ['publickey'] : ['publickey', 'password']);
  };
  if (behaviourOf(rules, address).kind === 'auth-fail' || (user !== undefined && ctx.username !== user)) return deny();
  switch (ctx.method) {
    case 'publickey': {
      if (!ctx.key.data.equals(authorizedBlob)) return deny();
      // Without a signature the client only asks whether the key would do.
      if (!ctx.signature) return ctx.accept();
      const ok = authorized.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true;
      if (!ok) return deny();
      stats.authOk++;
      return ctx.accept();
    }
    case 'password':
      if (password === undefined || ctx.password !== password) return deny();
      stats.authOk++;
      return ctx.accept();
    default:
      return deny();
  }
}

function onClient(client: Connection): void {
  // ssh2 gives the handler the peer's address only; the host is the address the client dialled.
  // ssh2 keeps the socket as _sock (lib/server.js): checked, so an ssh2 that renames it fails loudly, not as `serve`.
  const sock = (client as unknown as { _sock?: net.Socket })._sock;
  if (!sock) throw new Error('herd-sim: ssh2 no longer keeps the socket as Connection._sock; update onClient');
  const address = sock.localAddress ?? '';
  client.on('error', () => stats.errors++);
  client.on('authentication', (ctx) => checkAuth(ctx, address));
  client.on('ready', () => {
    client.on('session', (accept) => {
      const session = accept();
      session.on('env', (accept) => accept?.());
      session.on('pty', (_accept, reject) => reject?.());
      session.on('sftp', (_accept, reject) => reject());
      session.on('exec', (accept, _reject, info) => {
        const behaviour = behaviourOf(rules, address);
        onExec(accept(), info.command, address, behaviour.kind === 'run' ? behaviour.script : null);
      });
    });
  });
}

const [hostKey] = [fs.readFileSync(values['host-key'])];
const sshServer = new ssh2.Server({ hostKeys: [hostKey], ident: 'herd-sim' }, onClient);
sshServer.on('error', () => stats.errors++);

/** Sockets held open without a banner (`hang`), so that exit can close them. */
const hung = new Set<net.Socket>();

const tcp = net.createServer((socket) => {
  stats.connections++;
  socket.on('error', () => {});
  const behaviour = behaviourOf(rules, socket.localAddress ?? '');
  if (behaviour.kind === 'hang') {
    stats.hung++;
    hung.add(socket);
    socket.on('close', () => hung.delete(socket));
    return;
  }
  if (behaviour.kind === 'close') {
    stats.closed++;
    socket.destroy();
    return;
  }
  sshServer.injectSocket(socket);
});

function exit(why: string): void {
  process.stdout.write(`herd-sim exiting (${why}): ${JSON.stringify(stats)}\n`);
  process.exit(0);
}

tcp.on('error', (err) => die(`listen: ${err.message}`));
// A large backlog: 10,000 clients may dial within a second; the kernel caps it at net.core.somaxconn.
tcp.listen({ host: '0.0.0.0', port: Number(values.port), backlog: 65535 }, () => {
  const port = (tcp.address() as net.AddressInfo).port;
  process.stdout.write(`herd-sim listening on 0.0.0.0:${port} pid ${process.pid}\n`);
});

// Bounded: a lifetime, the parent's death (IPC channel gone, or re-parented), and signals.
const lifetime = setTimeout(() => exit('--max-seconds reached'), Number(values['max-seconds']) * 1000);
lifetime.unref();
const parent = process.ppid;
setInterval(() => process.ppid !== parent && exit('parent gone'), 1000).unref();
process.on('disconnect', () => exit('parent gone'));
process.on('SIGTERM', () => exit('SIGTERM'));
process.on('SIGINT', () => exit('SIGINT'));
