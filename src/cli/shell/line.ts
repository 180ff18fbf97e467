// herd shell: one input line as what it asks for (a command for the hosts, or a `:` built-in), and the built-ins'
// names, usage and help (for :help and tab completion). Pure: no terminal, no hosts.

export type ShellLine =
  | { kind: 'empty' }
  | { kind: 'command'; command: string }
  | { kind: 'limit'; pattern: string }
  | { kind: 'failed' }
  | { kind: 'all' }
  | { kind: 'hosts' }
  | { kind: 'put'; local: string; remote: string }
  | { kind: 'get'; remote: string; localDir: string }
  | { kind: 'play'; file: string; check: boolean }
  | { kind: 'show' }
  | { kind: 'diff' }
  | { kind: 'timeout'; seconds: string }
  | { kind: 'stream'; on: boolean }
  | { kind: 'help' }
  | { kind: 'quit' }
  /** A built-in typed wrong: the message says how to type it. */
  | { kind: 'error'; message: string };

export interface Builtin {
  name: string;
  usage: string;
  help: string;
}

/** Every built-in, in :help order. */
export const BUILTINS: readonly Builtin[] = [
  { name: ':limit', usage: ':limit PATTERN', help: 'select hosts with the --limit syntax (of the session hosts)' },
  { name: ':failed', usage: ':failed', help: 'select the hosts that did not end ok in the last command' },
  { name: ':all', usage: ':all', help: 'select every host of the session again' },
  { name: ':hosts', usage: ':hosts', help: 'list the selected hosts and whether each is connected' },
  { name: ':put', usage: ':put LOCAL REMOTE', help: 'push a file or tree to the selected hosts (as herd push)' },
  { name: ':get', usage: ':get REMOTE LOCAL_DIR', help: 'pull a file or tree into LOCAL_DIR/<host>/ (as herd pull)' },
  { name: ':play', usage: ':play FILE [--check]', help: 'run a playbook on the selected hosts (as herd play)' },
  { name: ':show', usage: ':show', help: 'show the last command again (as herd show)' },
  { name: ':diff', usage: ':diff', help: 'the hosts whose output differs in the last command (as herd diff)' },
  { name: ':timeout', usage: ':timeout S', help: 'per-command timeout in seconds for later commands (0: none)' },
  { name: ':stream', usage: ':stream on|off', help: 'print output lines as they arrive (host: line), or not' },
  { name: ':help', usage: ':help', help: 'this list' },
  { name: ':quit', usage: ':quit', help: 'close every connection and leave (also Ctrl-D)' },
];

/**
 * Split a built-in's arguments into words: whitespace separates, '...' and "..." and {{ ... }} keep spaces (no escapes
 * inside single quotes; a backslash escapes the next character elsewhere). Null when a quote is left open.
 */
export function splitWords(text: string): string[] | null {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
      continue;
    }
    if (c === '{' && text[i + 1] === '{') {
      // A template ({{ host }}, as herd push takes it) is one word with its spaces.
      const close = text.indexOf('}}', i + 2);
      const end = close < 0 ? text.length : close + 2;
      word += text.slice(i, end);
      i = end - 1;
      inWord = true;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== null) return null;
  if (inWord) words.push(word);
  return words;
}

const usageOf = (name: string): string => BUILTINS.find((b) => b.name === name)?.usage ?? name;

/** What one input line asks for. A line not starting with `:` is a command for the hosts, as typed. */
export function parseLine(line: string): ShellLine {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'empty' };
  if (!trimmed.startsWith(':')) return { kind: 'command', command: trimmed };
  const space = trimmed.search(/\s/);
  const name = space < 0 ? trimmed : trimmed.slice(0, space);
  const rest = space < 0 ? '' : trimmed.slice(space).trim();
  const words = splitWords(rest);
  if (words === null) return { kind: 'error', message: `${name}: a quote is left open` };
  const wrong = (): ShellLine => ({ kind: 'error', message: `usage: ${usageOf(name)}` });
  const none = (ok: ShellLine): ShellLine => (words.length === 0 ? ok : wrong());
  switch (name) {
    case ':limit':
      // The pattern is --limit's own syntax (commas, !, &, @file): taken as typed, not split.
      return rest === '' ? wrong() : { kind: 'limit', pattern: rest };
    case ':failed':
      return none({ kind: 'failed' });
    case ':all':
      return none({ kind: 'all' });
    case ':hosts':
      return none({ kind: 'hosts' });
    case ':put':
      return words.length === 2 ? { kind: 'put', local: words[0]!, remote: words[1]! } : wrong();
    case ':get':
      return words.length === 2 ? { kind: 'get', remote: words[0]!, localDir: words[1]! } : wrong();
    case ':play': {
      const check = words.includes('--check');
      const files = words.filter((w) => w !== '--check');
      return files.length === 1 && words.length - files.length <= 1
        ? { kind: 'play', file: files[0]!, check }
        : wrong();
    }
    case ':show':
      return none({ kind: 'show' });
    case ':diff':
      return none({ kind: 'diff' });
    case ':timeout':
      return words.length === 1 ? { kind: 'timeout', seconds: words[0]! } : wrong();
    case ':stream':
      return words.length === 1 && (words[0] === 'on' || words[0] === 'off')
        ? { kind: 'stream', on: words[0] === 'on' }
        : wrong();
    case ':help':
      return none({ kind: 'help' });
    case ':quit':
      return none({ kind: 'quit' });
    default:
      return { kind: 'error', message: `unknown built-in ${JSON.stringify(name)} (:help lists them)` };
  }
}

/** node:readline's completer: built-in names for a line that starts with `:` and has no space yet. */
export function completeLine(line: string): [string[], string] {
  if (!line.startsWith(':') || /\s/.test(line)) return [[], line];
  const hits = BUILTINS.map((b) => b.name).filter((n) => n.startsWith(line));
  return [hits, line];
}

/** :help's text: each built-in's usage and what it does. */
export function helpText(): string {
  const width = Math.max(...BUILTINS.map((b) => b.usage.length));
  const lines = BUILTINS.map((b) => `  ${b.usage.padEnd(width)}  ${b.help}`);
  return [
    'Any other line runs as a command on the selected hosts. Built-ins:',
    ...lines,
    'Ctrl-C stops a running command on every host; Ctrl-D quits.',
  ].join('\n');
}

/** The prompt: connected hosts of the selection, the selection's size and its label. */
export function formatPrompt(connected: number, selected: number, label: string): string {
  return `herd [${connected}/${selected} ${label}]> `;
}
