import { describe, expect, it } from 'vitest';
import {
  BUILTINS,
  completeLine,
  formatPrompt,
  helpText,
  parseLine,
  splitWords,
} from '../../../../src/cli/shell/line.js';

describe('parseLine', () => {
  it('takes a line without a leading colon as a command for the hosts, as typed', () => {
    expect(parseLine('  df -h / | tail -1  ')).toEqual({ kind: 'command', command: 'df -h / | tail -1' });
    expect(parseLine('echo ":limit"')).toEqual({ kind: 'command', command: 'echo ":limit"' });
    expect(parseLine('   ')).toEqual({ kind: 'empty' });
  });

  it('reads every built-in with its arguments', () => {
    expect(parseLine(':limit web,!web03, &dc1')).toEqual({ kind: 'limit', pattern: 'web,!web03, &dc1' });
    expect(parseLine(':failed')).toEqual({ kind: 'failed' });
    expect(parseLine(':all')).toEqual({ kind: 'all' });
    expect(parseLine(':hosts')).toEqual({ kind: 'hosts' });
    expect(parseLine(':put ./app/ /opt/app')).toEqual({ kind: 'put', local: './app/', remote: '/opt/app' });
    expect(parseLine(':put "my file" /etc/app-{{ host }}.conf')).toEqual({
      kind: 'put',
      local: 'my file',
      remote: '/etc/app-{{ host }}.conf',
    });
    expect(parseLine(':get /var/log/app logs')).toEqual({ kind: 'get', remote: '/var/log/app', localDir: 'logs' });
    expect(parseLine(':play disks.yml --check')).toEqual({ kind: 'play', file: 'disks.yml', check: true });
    expect(parseLine(':play disks.yml')).toEqual({ kind: 'play', file: 'disks.yml', check: false });
    expect(parseLine(':show')).toEqual({ kind: 'show' });
    expect(parseLine(':diff')).toEqual({ kind: 'diff' });
    expect(parseLine(':timeout 30')).toEqual({ kind: 'timeout', seconds: '30' });
    expect(parseLine(':stream on')).toEqual({ kind: 'stream', on: true });
    expect(parseLine(':stream off')).toEqual({ kind: 'stream', on: false });
    expect(parseLine(':help')).toEqual({ kind: 'help' });
    expect(parseLine(':quit')).toEqual({ kind: 'quit' });
  });

  it('refuses a built-in typed wrong with its usage, and an unknown one by name', () => {
    expect(parseLine(':limit')).toEqual({ kind: 'error', message: 'usage: :limit PATTERN' });
    expect(parseLine(':put one')).toEqual({ kind: 'error', message: 'usage: :put LOCAL REMOTE' });
    expect(parseLine(':get a b c')).toEqual({ kind: 'error', message: 'usage: :get REMOTE LOCAL_DIR' });
    expect(parseLine(':play a.yml b.yml')).toEqual({ kind: 'error', message: 'usage: :play FILE [--check]' });
    expect(parseLine(':stream maybe')).toEqual({ kind: 'error', message: 'usage: :stream on|off' });
    expect(parseLine(':failed now')).toEqual({ kind: 'error', message: 'usage: :failed' });
    expect(parseLine(':put "open /x')).toEqual({ kind: 'error', message: ':put: a quote is left open' });
    expect(parseLine(':rm -rf')).toEqual({ kind: 'error', message: 'unknown built-in ":rm" (:help lists them)' });
  });
});

describe('splitWords', () => {
  it('splits on whitespace and keeps quoted text, escapes and templates whole', () => {
    expect(splitWords(`a  'b c' "d \\"e\\"" f\\ g {{ host }}/x`)).toEqual(['a', 'b c', 'd "e"', 'f g', '{{ host }}/x']);
    expect(splitWords("''")).toEqual(['']);
    expect(splitWords('"open')).toBeNull();
  });
});

describe('completion, help and prompt', () => {
  it('completes built-in names only while the first word is typed', () => {
    expect(completeLine(':s')).toEqual([[':show', ':stream'], ':s']);
    expect(completeLine(':qu')).toEqual([[':quit'], ':qu']);
    expect(completeLine(':stream o')).toEqual([[], ':stream o']);
    expect(completeLine('ls')).toEqual([[], 'ls']);
  });

  it('lists every built-in in :help, and shows connected/selected and the label in the prompt', () => {
    const help = helpText();
    for (const b of BUILTINS) expect(help).toContain(b.usage);
    expect(formatPrompt(198, 200, 'storage')).toBe('herd [198/200 storage]> ');
  });
});
