import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildKillCommand, buildRemoteCommand, shellQuote } from '../../../src/transport/remote-command.js';

describe('shell quoting', () => {
  it.each([`plain`, `two words`, `it's`, `$(rm -rf /)`, `a"b`, ``, `back\\slash`, "new\nline"])('round-trips %j through sh', (text) => {
    expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(text)}`]).toString()).toBe(text);
  });
});

describe('remote command wrapping', () => {
  it('runs the command under sh with the job tag in its environment', () => {
    const out = execFileSync('/bin/sh', ['-c', buildRemoteCommand(`echo "$HERD_JOB"; echo 'quoted'`, 'abc123')]).toString();
    expect(out).toBe('abc123\nquoted\n');
  });

  it('builds a kill command that is valid sh and reports a count', () => {
    const out = execFileSync('/bin/sh', ['-c', buildKillCommand('no-such-tag-0000')]).toString();
    expect(out.trim()).toBe('0');
  });
});
