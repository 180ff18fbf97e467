import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli/main.js';
import { completionScript } from '../../../src/cli/completion.js';

function complete(words: string[]): string {
  const script = completionScript(buildProgram(), 'bash')!;
  const cmd = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _herd; echo "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', cmd]).toString().trim();
}

describe('shell completion', () => {
  it("completes commands and each command's options in a real bash", () => {
    expect(complete(['herd', 'r']).split(' ').sort()).toEqual(['report', 'rerun', 'run', 'runs']);
    expect(complete(['herd', 'report', '--']).split(' ').sort()).toEqual(['--output', '--runs-dir']);
    expect(complete(['herd', 'run', '--for'])).toBe('--forks');
    expect(complete(['herd', 'play', '--ch'])).toBe('--check');
  });

  it('has zsh and fish scripts and refuses other shells', () => {
    expect(completionScript(buildProgram(), 'zsh')).toContain('#compdef herd');
    expect(completionScript(buildProgram(), 'fish')).toContain(
      "complete -c herd -n '__fish_seen_subcommand_from play' -l check",
    );
    expect(completionScript(buildProgram(), 'tcsh')).toBeNull();
  });
});
