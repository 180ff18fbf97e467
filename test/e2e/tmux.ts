// A real terminal for e2e tests: herd runs in a bash inside tmux, and the test reads the screen
// with capture-pane. Each test file names its own socket, so files running in parallel never share
// a tmux server (one file's kill-server must not end another's session).
import { execFileSync } from 'node:child_process';

export const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ScreenOptions {
  /** Join wrapped lines (capture-pane -J); defaults to the terminal's `join`. */
  join?: boolean;
  /** Keep the escape sequences of colours and attributes (capture-pane -e). */
  escapes?: boolean;
}

export interface TerminalOptions {
  /** Names the tmux socket (with the pid), one per test file. */
  name: string;
  width: number;
  height: number;
  /** Variables removed from the shell's environment (e.g. NO_COLOR, to see colours). */
  unset?: string[];
  /** Default of ScreenOptions.join for screen() and waitFor(). */
  join?: boolean;
}

export interface Terminal {
  /** Types a line and presses Enter. */
  send(line: string): void;
  /** Sends tmux key names as they are (e.g. 'C-c', 'Enter'). */
  keys(...keys: string[]): void;
  /** Types text literally, with no Enter. */
  type(text: string): void;
  screen(options?: ScreenOptions): string;
  /** The screen once check accepts it; throws with the last screen after timeoutMs. */
  waitFor(check: (screen: string) => boolean, timeoutMs: number, options?: ScreenOptions): Promise<string>;
  /** Runs a shell line from a clean screen and no history; the screen once it has printed EXIT=<code>. */
  run(line: string, timeoutMs?: number): Promise<string>;
  /** The pane title, which a host's escape sequences must not change. */
  title(): string;
  close(): void;
}

const ENDED = /^EXIT=\d+$/m;
const PROMPT_ONLY = (s: string): boolean => s.trim() === '$';

/** Starts a bash with the prompt `$ ` in a new tmux server and waits for its clean screen. */
export async function openTerminal(options: TerminalOptions): Promise<Terminal> {
  const socket = `herd-${options.name}-${process.pid}`;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args]).toString();
  const env = options.unset?.length ? ['env', ...options.unset.flatMap((v) => ['-u', v])] : [];
  const shell = [...env, 'bash', '--norc', '--noprofile'];
  tmux('new-session', '-d', '-s', 't', '-x', String(options.width), '-y', String(options.height), ...shell);

  const screen = ({ join = options.join ?? false, escapes = false }: ScreenOptions = {}): string =>
    tmux('capture-pane', '-p', ...(join ? ['-J'] : []), ...(escapes ? ['-e'] : []), '-t', 't');
  const waitFor = async (check: (s: string) => boolean, timeoutMs: number, opts?: ScreenOptions): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = screen(opts);
      if (check(text)) return text;
      await sleep(100);
    }
    throw new Error(`screen never matched; last screen:\n${text}`);
  };
  const send = (line: string): void => void tmux('send-keys', '-t', 't', line, 'Enter');

  const terminal: Terminal = {
    send,
    keys: (...keys) => void tmux('send-keys', '-t', 't', ...keys),
    type: (text) => void tmux('send-keys', '-t', 't', '-l', text),
    screen,
    waitFor,
    async run(line, timeoutMs = 60_000) {
      send('clear');
      await waitFor(PROMPT_ONLY, 5_000);
      tmux('clear-history', '-t', 't');
      send(`${line}; echo "EXIT=$?"`);
      return waitFor((s) => ENDED.test(s), timeoutMs);
    },
    title: () => tmux('display-message', '-p', '-t', 't', '#{pane_title}').trim(),
    close() {
      try {
        tmux('kill-server');
      } catch {
        /* already gone */
      }
    },
  };
  send(`PS1='$ '; clear`);
  await waitFor(PROMPT_ONLY, 5_000);
  return terminal;
}
