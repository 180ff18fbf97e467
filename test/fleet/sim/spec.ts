// The fleet simulator's two small languages, pure (no I/O):
// - the spec: which target address behaves how (first matching line wins), e.g.
//       127.0.1.1-127.0.1.4  hang          # accept TCP, never send the SSH banner
//       127.0.2.0/24         auth-fail     # every authentication attempt rejected
//       127.0.1.9,127.0.1.10 run exit 3    # whatever herd asks, run `exit 3` instead
//       *                    serve         # run what herd asks (the default)
// - the command language a host "runs": `true`, `false`, `:`, `exit N`, `sleep S`, `echo WORDS [>&2]`,
//   `addr` (prints the target address), `bytes N [stderr]` (N bytes of output), joined by `;` or `&&`.
//   herd's wrapper (`exec env HERD_JOB=tag /bin/sh -c '...'` or `HERD_JOB=tag exec /bin/sh -c '...'`, an optional
//   sudo prefix) is unwrapped, and its remote kill script is recognised, so --timeout works against simulated
//   hosts too.

export type Behaviour =
  { kind: 'serve' } | { kind: 'hang' } | { kind: 'close' } | { kind: 'auth-fail' } | { kind: 'run'; script: Script };

export type Op =
  | { op: 'exit'; code: number }
  | { op: 'status'; code: number }
  | { op: 'sleep'; ms: number }
  | { op: 'echo'; text: string; stderr: boolean }
  | { op: 'addr' }
  | { op: 'bytes'; n: number; stderr: boolean }
  | { op: 'unknown'; name: string };

/** One command; `and` = joined to the previous one by `&&` (runs only if that one exited 0). */
export interface Step {
  and: boolean;
  op: Op;
}
export type Script = Step[];

export interface Rule {
  ranges: [number, number][];
  behaviour: Behaviour;
}

/** An error in a spec file or a command, with the 1-based column it points at. */
export class SimSyntaxError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

/** A spec error as `file:line:column: message`. */
export class SpecError extends Error {}

/** Dotted IPv4 to an unsigned 32-bit number, or null. */
export function ipv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

function parseRange(text: string, column: number): [number, number] {
  if (text === '*') return [0, 0xffffffff];
  const slash = /^(.+)\/(\d{1,2})$/.exec(text);
  if (slash) {
    const base = ipv4(slash[1]!);
    const bits = Number(slash[2]);
    if (base === null || bits > 32) throw new SimSyntaxError(`not an IPv4 CIDR block: ${text}`, column);
    const size = 2 ** (32 - bits);
    const lo = base - (base % size);
    return [lo, lo + size - 1];
  }
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const lo = ipv4(text.slice(0, dash));
    const hi = ipv4(text.slice(dash + 1));
    if (lo === null || hi === null || hi < lo)
      throw new SimSyntaxError(`not an IPv4 range FIRST-LAST: ${text}`, column);
    return [lo, hi];
  }
  const one = ipv4(text);
  if (one === null) throw new SimSyntaxError(`not an IPv4 address, CIDR block, range or *: ${text}`, column);
  return [one, one];
}

interface Word {
  text: string;
  column: number;
  /** An unquoted `;` or `&&`. */
  operator: boolean;
}

/** POSIX-ish words: single and double quotes, backslash; `;` and `&&` as operators; `#` starts a comment. */
export function words(text: string, firstColumn = 1): Word[] {
  const out: Word[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
      continue;
    }
    if (c === '#') break;
    if (c === ';' || (c === '&' && text[i + 1] === '&')) {
      out.push({ text: c === ';' ? ';' : '&&', column: firstColumn + i, operator: true });
      i += c === ';' ? 1 : 2;
      continue;
    }
    const start = i;
    let word = '';
    while (i < text.length && !' \t\n;'.includes(text[i]!) && !(text[i] === '&' && text[i + 1] === '&')) {
      const ch = text[i]!;
      if (ch === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) throw new SimSyntaxError('unterminated single quote', firstColumn + i);
        word += text.slice(i + 1, end);
        i = end + 1;
      } else if (ch === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) i++;
          word += text[i++];
        }
        if (i >= text.length) throw new SimSyntaxError('unterminated double quote', firstColumn + start);
        i++;
      } else if (ch === '\\' && i + 1 < text.length) {
        word += text[i + 1];
        i += 2;
      } else {
        word += ch;
        i++;
      }
    }
    out.push({ text: word, column: firstColumn + start, operator: false });
  }
  return out;
}

function count(word: Word | undefined, what: string, at: number, fraction = false): number {
  const re = fraction ? /^\d+(\.\d+)?$/ : /^\d+$/;
  if (!word || !re.test(word.text))
    throw new SimSyntaxError(`${what} wants ${fraction ? 'a number' : 'a whole number'}`, word?.column ?? at);
  return Number(word.text);
}

/** setTimeout's longest wait (about 24.8 days); a longer one would fire at once. */
const MAX_SLEEP_MS = 2 ** 31 - 1;

function parseOp(cmd: Word[]): Op {
  const [name, ...args] = cmd;
  switch (name!.text) {
    case 'true':
    case ':':
      return { op: 'status', code: 0 };
    case 'false':
      return { op: 'status', code: 1 };
    case 'exit':
      return { op: 'exit', code: args.length === 0 ? 0 : count(args[0], 'exit', name!.column) % 256 };
    case 'sleep':
      return {
        op: 'sleep',
        ms: Math.min(MAX_SLEEP_MS, Math.round(count(args[0], 'sleep', name!.column, true) * 1000)),
      };
    case 'echo': {
      // `echo ... >&2`, the one redirection: a host's stderr.
      const stderr = args.at(-1)?.text === '>&2';
      return {
        op: 'echo',
        text:
          args
            .slice(0, stderr ? -1 : undefined)
            .map((a) => a.text)
            .join(' ') + '\n',
        stderr,
      };
    }
    case 'addr':
      return { op: 'addr' };
    case 'bytes':
      if (args[1] && args[1].text !== 'stderr') throw new SimSyntaxError('bytes N [stderr]', args[1].column);
      return { op: 'bytes', n: count(args[0], 'bytes', name!.column), stderr: args[1] !== undefined };
    default:
      return { op: 'unknown', name: name!.text };
  }
}

/** A command line of the simulator's language; throws SimSyntaxError. */
export function parseScript(text: string, firstColumn = 1): Script {
  const script: Script = [];
  let cmd: Word[] = [];
  let and = false;
  const flush = (at: number): void => {
    if (cmd.length === 0) throw new SimSyntaxError('empty command', at);
    script.push({ and, op: parseOp(cmd) });
    cmd = [];
  };
  const ws = words(text, firstColumn);
  for (const w of ws) {
    if (!w.operator) {
      cmd.push(w);
      continue;
    }
    flush(w.column);
    and = w.text === '&&';
  }
  if (cmd.length > 0 || and) flush(firstColumn + text.length);
  return script;
}

export type Exec = { kind: 'script'; tag: string | null; script: Script } | { kind: 'kill'; tag: string };

/** A command as herd sends it (wrapped or not), to what the simulated host should do. */
export function parseExec(command: string): Exec {
  const ws = words(command).filter((w) => !w.operator);
  let i = 0;
  let tag: string | null = null;
  const assignments = (): void => {
    for (let m; ws[i] && (m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(ws[i]!.text)); i++)
      if (m[1] === 'HERD_JOB') tag = m[2]!;
  };
  assignments(); // the posix form: HERD_JOB=tag exec /bin/sh -c '...'
  if (ws[i]?.text === 'exec') i++;
  if (ws[i]?.text === 'sudo') {
    i++;
    while (ws[i]?.text.startsWith('-')) i += ws[i]!.text === '-p' ? 2 : 1;
  }
  if (ws[i]?.text === 'env') {
    i++;
    assignments();
  }
  if ((ws[i]?.text === '/bin/sh' || ws[i]?.text === 'sh') && ws[i + 1]?.text === '-c') {
    // `-c --`: the command after the end of sh's options.
    const at = ws[i + 2]?.text === '--' ? i + 3 : i + 2;
    if (!ws[at]) return { kind: 'script', tag, script: parseScript(command) };
    const inner = ws[at]!.text;
    // herd's remote kill (src/transport/remote-command.ts): a shell loop over /proc, recognised by its grep.
    const kill = /grep -l[a-z]*F '?HERD_JOB=([^'\s]+)/.exec(inner);
    if (kill) return { kind: 'kill', tag: kill[1]! };
    return { kind: 'script', tag, script: parseScript(inner) };
  }
  return { kind: 'script', tag, script: parseScript(command) };
}

function parseBehaviour(ws: Word[], rest: string, restColumn: number): Behaviour {
  const kind = ws[0]!;
  switch (kind.text) {
    case 'serve':
    case 'hang':
    case 'close':
    case 'auth-fail':
      if (ws.length > 1) throw new SimSyntaxError(`${kind.text} takes no arguments`, ws[1]!.column);
      return { kind: kind.text };
    case 'run': {
      const offset = rest.indexOf('run') + 3;
      // words() ends the command at an unquoted `#`, as a comment.
      const script = parseScript(rest.slice(offset), restColumn + offset);
      if (script.length === 0) throw new SimSyntaxError('run wants a command', kind.column);
      return { kind: 'run', script };
    }
    default:
      throw new SimSyntaxError(`unknown behaviour ${kind.text} (serve, hang, close, auth-fail, run CMD)`, kind.column);
  }
}

/** A spec file's text to its rules; errors name file:line:column. */
export function parseSpec(text: string, file: string): Rule[] {
  const rules: Rule[] = [];
  text.split('\n').forEach((line, index) => {
    try {
      const ws = words(line);
      if (ws.length === 0) return;
      const [match, ...rest] = ws;
      if (rest.length === 0) throw new SimSyntaxError('a behaviour must follow the addresses', line.length + 1);
      const ranges: [number, number][] = [];
      let column = match!.column;
      for (const part of match!.text.split(',')) {
        ranges.push(parseRange(part, column));
        column += part.length + 1;
      }
      const restColumn = rest[0]!.column;
      rules.push({ ranges, behaviour: parseBehaviour(rest, line.slice(restColumn - 1), restColumn) });
    } catch (err) {
      if (!(err instanceof SimSyntaxError)) throw err;
      throw new SpecError(`${file}:${index + 1}:${err.column}: ${err.message}`);
    }
  });
  return rules;
}

const SERVE: Behaviour = { kind: 'serve' };

/** The behaviour of the first rule that matches the address (`serve` when none does, or not IPv4). */
export function behaviourOf(rules: Rule[], address: string): Behaviour {
  const n = ipv4(address.startsWith('::ffff:') ? address.slice(7) : address);
  if (n === null) return SERVE;
  for (const rule of rules) for (const [lo, hi] of rule.ranges) if (n >= lo && n <= hi) return rule.behaviour;
  return SERVE;
}
