// herd completion bash|zsh|fish: completion scripts generated from the commander program itself,
// so a new command or option is completed without anyone remembering to update a script.
import type { Command } from 'commander';

interface Spec {
  name: string;
  options: string[];
}

function specsOf(program: Command): Spec[] {
  return program.commands.map((c) => ({
    name: c.name(),
    options: c.options.map((o) => o.long ?? o.short ?? '').filter(Boolean),
  }));
}

function bash(specs: Spec[]): string {
  const cases = specs.map((s) => `    ${s.name}) opts="${s.options.join(' ')}" ;;`).join('\n');
  return `# herd bash completion: eval "$(herd completion bash)"
_herd() {
  local cur cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${specs.map((s) => s.name).join(' ')}" -- "$cur") )
    return
  fi
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=( $(compgen -W "$opts" -- "$cur") ); else COMPREPLY=( $(compgen -f -- "$cur") ); fi
}
complete -o filenames -F _herd herd
`;
}

function zsh(specs: Spec[]): string {
  const cases = specs
    .map((s) => `    ${s.name}) _arguments ${s.options.map((o) => `'${o}[]'`).join(' ')} '*:file:_files' ;;`)
    .join('\n');
  return `#compdef herd
# herd zsh completion: herd completion zsh > "\${fpath[1]}/_herd"
_herd() {
  if (( CURRENT == 2 )); then
    compadd ${specs.map((s) => s.name).join(' ')}
    return
  fi
  case "$words[2]" in
${cases}
  esac
}
compdef _herd herd
`;
}

function fish(specs: Spec[]): string {
  const lines = [
    `# herd fish completion: herd completion fish > ~/.config/fish/completions/herd.fish`,
    'complete -c herd -f',
  ];
  for (const s of specs) {
    lines.push(`complete -c herd -n '__fish_use_subcommand' -a ${s.name}`);
    for (const o of s.options)
      lines.push(`complete -c herd -n '__fish_seen_subcommand_from ${s.name}' -l ${o.replace(/^--/, '')}`);
  }
  return lines.join('\n') + '\n';
}

export function completionScript(program: Command, shell: string): string | null {
  const specs = specsOf(program).filter((s) => s.name !== 'completion');
  if (shell === 'bash') return bash(specs);
  if (shell === 'zsh') return zsh(specs);
  if (shell === 'fish') return fish(specs);
  return null;
}
