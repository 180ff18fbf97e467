// Host selection at the CLI and at fleet scale: -l never widens, bad patterns stop herd with exit 2
// naming the flag as typed, and a million-host inventory neither crashes `herd hosts` nor `herd run`.
// No sshd here: the few hosts a run reaches are loopback addresses on port 1, which refuse at once.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHostsTsv, removeScratchDirs, runDirOf, runHerd, scratchDir } from './herd-cli.js';

const home = scratchDir();
afterAll(() => removeScratchDirs());

function inventory(name: string, lines: string[]): string {
  const file = path.join(home, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

// A password to offer: herd refuses a run with no credentials at all before any host.
const env = { HOME: home, HERD_T_PW: 'x' };

describe('-l at the command line', () => {
  const inv = inventory('small.txt', ['foo[1-5]', 'bar1']);

  it('keeps the exclusion of a term with a list in brackets, and selects a bracket list', async () => {
    const excluded = await runHerd(['hosts', '-i', inv, '-l', 'all,!foo[1,3]'], { env });
    expect(excluded).toMatchObject({ code: 0, stderr: '' });
    expect(excluded.stdout).toBe('foo2\nfoo4\nfoo5\nbar1\n');
    const listed = await runHerd(['hosts', '-i', inv, '-l', 'foo[0-2,4]'], { env });
    expect(listed.stdout).toBe('foo1\nfoo2\nfoo4\n');
    expect(listed).toMatchObject({ code: 0, stderr: '' });
  });

  it.each([
    [['-l', 'all,!foo[1'], 'herd: -l "all,!foo[1": column 9: unterminated [\n'],
    [
      ['--limit', 'all,!fo1'],
      'herd: --limit "all,!fo1": column 5: !fo1 excludes no host; refusing to run without the exclusion (check the name)\n',
    ],
    [
      ['--limit=foo[01-044]'],
      'herd: --limit "foo[01-044]": column 5: range 01-044: padding length mismatch (2 and 3 digits); write both ends with the same width, e.g. 001-044\n',
    ],
    [['-lfoo[1:3]'], 'herd: -l "foo[1:3]": column 4: [1:3] is an Ansible-style range; herd writes it foo[1-3]\n'],
  ])('%j stops with exit 2 before any host is contacted: %s', async (args, message) => {
    const result = await runHerd(['run', '-i', inv, ...args, '-o', path.join(home, 'runs'), 'true'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(message);
    expect(result.stdout).toBe('');
  });
});

describe('a 1,000,000-host inventory', () => {
  const million = inventory('million.txt', ['127.[0-14].[0-255].[1-250]', '127.15.[0-159].[1-250]']);

  it('herd hosts lists every host, and a 40,000-host range term selects exactly its hosts', async () => {
    const all = await runHerd(['hosts', '-i', million], { env });
    expect(all.code).toBe(0);
    const lines = all.stdout.split('\n');
    expect(lines).toHaveLength(1_000_001);
    expect(lines[999_999]).toBe('127.15.159.250');
    const some = await runHerd(['hosts', '-i', million, '-l', '127.15.[0-159].[1-250],!127.15.[1-159].[1-250]'], {
      env,
    });
    expect(some.code).toBe(0);
    expect(some.stdout.split('\n')).toHaveLength(251);
  }, 300_000);

  it('herd run loads and selects it (no RangeError), then runs only the selected hosts', async () => {
    const result = await runHerd(
      [
        'run',
        '-i',
        million,
        '-l',
        '127.0.0.[1-3]',
        '-p',
        '1',
        '--password-env',
        'HERD_T_PW',
        '--connect-retries',
        '0',
        '-o',
        path.join(home, 'runs'),
        'true',
      ],
      { env },
    );
    expect(result.stderr).not.toMatch(/RangeError|Maximum call stack/);
    expect(result.code).toBe(1);
    expect([...readHostsTsv(runDirOf(result)).keys()]).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  }, 300_000);
});

describe('herd run with more hosts than a call takes arguments', () => {
  it('queues 130,048 hosts (exit 70 with RangeError before): the deadline leaves them not_started, each recorded', async () => {
    const inv = inventory('many.txt', ['127.1.[0-255].[1-254]', '127.2.[0-255].[1-254]']);
    const result = await runHerd(
      [
        'run',
        '-i',
        inv,
        '-p',
        '1',
        '--password-env',
        'HERD_T_PW',
        '--connect-retries',
        '0',
        '--deadline',
        '0.5',
        '-o',
        path.join(home, 'runs'),
        'true',
      ],
      { env },
    );
    expect(result.stderr).not.toMatch(/RangeError|Maximum call stack/);
    expect(result.code).toBe(1);
    const rows = readHostsTsv(runDirOf(result));
    expect(rows.size).toBe(130_048);
    // Port 1 refuses: hosts reached before the deadline are unreachable (or stopped by it), the rest never started.
    const statuses = new Set([...rows.values()].map((r) => r.status));
    expect([...statuses].filter((s) => !['not_started', 'unreachable', 'timeout'].includes(s))).toEqual([]);
    expect([...rows.values()].every((r) => r.reason !== '')).toBe(true);
  }, 300_000);
});
