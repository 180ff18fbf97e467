// Read secrets without ever putting them on argv: from a named environment variable or a terminal prompt.
import { UsageError } from '../errors.js';

/** `flag` is the option the user typed, so the message names it (not the login password's flag). */
export function passwordFromEnv(variable: string, flag: string): string {
  const value = process.env[variable];
  if (value === undefined || value === '') {
    throw new UsageError(`${flag} ${variable}: environment variable ${variable} is not set or empty`, 'E_SECRET');
  }
  return value;
}

/** The option that asked for a prompt, and the environment-variable option that replaces it without a terminal. */
export interface PromptFlags {
  ask: string;
  env: string;
}

/** Prompt on the terminal with echo off. */
export function promptHidden(question: string, flags: PromptFlags): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return Promise.reject(
      new UsageError(`${flags.ask} needs a terminal on stdin; use ${flags.env} VAR instead`, 'E_SECRET'),
    );
  }
  return new Promise((resolve, reject) => {
    let value = '';
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (buf: Buffer): void => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003') return done(new UsageError('password prompt cancelled', 'E_SECRET'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = (err: Error | null): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    stdin.on('data', onData);
  });
}
