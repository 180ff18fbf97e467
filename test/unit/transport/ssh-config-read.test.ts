// The pure reader with an in-memory file tree: the parts `ssh -G -F` cannot show (the system
// file's Include rules, the depth limit, dot files in globs) and the word rules of misc.c.
import { describe, expect, it } from 'vitest';
import {
  argvSplit,
  globPaths,
  matchPattern,
  matchPatternList,
  parseConfigFile,
  resolveHost,
  type ConfigSource,
} from '../../../src/transport/ssh-config-read.js';

function memory(files: Record<string, string>, home = '/home/me'): ConfigSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    home,
    reads,
    readFile: (f) => {
      reads.push(f);
      return files[f] ?? null;
    },
    readDir: (d) => {
      const prefix = d.endsWith('/') ? d : `${d}/`;
      const names = Object.keys(files)
        .filter((f) => f.startsWith(prefix))
        .map((f) => f.slice(prefix.length).split('/')[0]!);
      return names.length > 0 ? [...new Set(names)] : null;
    },
  };
}

describe('words as misc.c argv_split reads them', () => {
  it.each([
    ['a b', ['a', 'b']],
    ['"a b" c', ['a b', 'c']],
    ["'a b'", ['a b']],
    ['a\\ b', ['a b']],
    ["it\\'s", ["it's"]],
    ['h#x # comment', ['h#x']],
    ['a"b c"d', ['ab cd']],
    ['"a\\"b"', ['a"b']],
    ['\\n', ['\\n']],
  ])('%s', (text, words) => expect(argvSplit(text)).toEqual(words));

  it('an unterminated quote is an error', () => expect(argvSplit('"abc')).toBeNull());
});

describe('patterns as match.c matches them', () => {
  it('? is exactly one character, * any run, case counts', () => {
    expect(matchPattern('web', '?eb')).toBe(true);
    expect(matchPattern('eb', '?eb')).toBe(false);
    expect(matchPattern('xweb', '?eb')).toBe(false);
    expect(matchPattern('a.b.c', '*.c')).toBe(true);
    expect(matchPattern('WEB', 'web')).toBe(false);
  });

  it('a list: a negated match wins over a positive one', () => {
    expect(matchPatternList('db.corp', '*.corp,!db.*', false)).toBe(-1);
    expect(matchPatternList('app.corp', '*.corp,!db.*', false)).toBe(1);
    expect(matchPatternList('APP.corp', 'App.*', true)).toBe(0);
    expect(matchPatternList('app.corp', 'App.*', true)).toBe(1);
  });
});

describe('Include', () => {
  it('relative paths live in /etc/ssh for the system file; ~ is refused there, as ssh does', () => {
    const src = memory({ '/etc/ssh/ssh_config.d/a.conf': 'Host x\n  User from-d\n' });
    const sys = parseConfigFile('/etc/ssh/ssh_config', 'Include ssh_config.d/*.conf\n', src, false);
    expect(resolveHost({ files: [sys] }, { alias: 'x', localUser: 'me' }).options.get('user')?.args).toEqual([
      'from-d',
    ]);
    expect(() => parseConfigFile('/etc/ssh/ssh_config', 'Include ~/x.conf\n', src, false)).toThrow(
      '/etc/ssh/ssh_config:1: bad include path ~/x.conf',
    );
  });

  it('user files: relative to ~/.ssh, globs sorted, dot files only when the pattern names them', () => {
    const src = memory({
      '/home/me/.ssh/c/b.conf': 'Host *\n  Port 2\n',
      '/home/me/.ssh/c/a.conf': 'Host *\n  Port 1\n',
      '/home/me/.ssh/c/.z.conf': 'Host *\n  Port 3\n',
    });
    expect(globPaths('~/.ssh/c/*.conf', src)).toEqual(['/home/me/.ssh/c/a.conf', '/home/me/.ssh/c/b.conf']);
    const f = parseConfigFile('/home/me/.ssh/config', 'Include c/*\n', src, true);
    expect(resolveHost({ files: [f] }, { alias: 'h', localUser: 'me' }).options.get('port')?.args).toEqual(['1']);
  });

  it('a file including itself stops at depth 16 with the line named', () => {
    const src = memory({ '/home/me/.ssh/loop': 'Include loop\n' });
    expect(() => parseConfigFile('/home/me/.ssh/loop', 'Include loop\n', src, true)).toThrow(
      /^\/home\/me\/\.ssh\/loop:1: too many recursive/,
    );
    expect(src.reads.length).toBe(16);
  });

  it('an Include inside a block that does not apply is read (its errors count) but applies nothing', () => {
    const src = memory({ '/home/me/.ssh/i.conf': 'User inner\nHost *\n  Port 9\n' });
    const f = parseConfigFile(
      '/home/me/.ssh/config',
      'Host other\n  Include i.conf\nHost *\n  User outer\n',
      src,
      true,
    );
    const r = resolveHost({ files: [f] }, { alias: 'h', localUser: 'me' });
    expect(r.options.get('user')?.args).toEqual(['outer']);
    expect(r.options.get('port')).toBeUndefined();
    const bad = memory({ '/home/me/.ssh/i.conf': 'Nonsense 1\n' });
    const g = parseConfigFile('/home/me/.ssh/config', 'Host other\n  Include i.conf\n', bad, true);
    expect(() => resolveHost({ files: [g] }, { alias: 'h', localUser: 'me' })).toThrow(
      '/home/me/.ssh/i.conf:1: Bad configuration option: nonsense',
    );
  });
});

describe('Match', () => {
  it('user sees a user fixed before the file is read (ssh -l), localuser the local account', () => {
    const src = memory({});
    const f = parseConfigFile('/c', 'Match user ops localuser me\n  Port 7\n', src, true);
    expect(resolveHost({ files: [f] }, { alias: 'h', user: 'ops', localUser: 'me' }).options.get('port')?.args).toEqual(
      ['7'],
    );
    expect(
      resolveHost({ files: [f] }, { alias: 'h', user: 'dev', localUser: 'me' }).options.get('port'),
    ).toBeUndefined();
    expect(
      resolveHost({ files: [f] }, { alias: 'h', user: 'ops', localUser: 'you' }).options.get('port'),
    ).toBeUndefined();
    // As `ssh -G -l ops` with `User x` before the Match: the -l user is the one Match sees.
    const g = parseConfigFile('/c', 'Host h\n  User x\nMatch user ops\n  Port 7\n', src, true);
    expect(resolveHost({ files: [g] }, { alias: 'h', user: 'ops', localUser: 'me' }).options.get('port')?.args).toEqual(
      ['7'],
    );
    expect(resolveHost({ files: [g] }, { alias: 'h', localUser: 'me' }).options.get('port')).toBeUndefined();
  });
});
