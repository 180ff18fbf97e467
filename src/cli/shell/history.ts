// herd shell's line history: one file under the user's state directory, mode 0600 (a command line may name a host,
// a path or a secret the operator typed by mistake), its directory 0700.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Lines kept in the file and in readline's history. */
export const HISTORY_SIZE = 1000;

/** $XDG_STATE_HOME/herd/shell_history; XDG_STATE_HOME defaults to ~/.local/state (an unset or relative value too). */
export function historyPath(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const state = env['XDG_STATE_HOME'];
  const base = state && path.isAbsolute(state) ? state : path.join(home, '.local', 'state');
  return path.join(base, 'herd', 'shell_history');
}

/** The saved lines, newest first (readline's order); none when the file is missing or unreadable. */
export function loadHistory(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .reverse()
    .slice(0, HISTORY_SIZE);
}

/** Write readline's history (newest first) oldest first; the file is made and kept 0600. */
export function saveHistory(file: string, newestFirst: readonly string[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = [...newestFirst].slice(0, HISTORY_SIZE).reverse().join('\n') + '\n';
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    // An older file made with another mode is narrowed too.
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}
