// Inventory variables against the hosts each play runs on, before any host is contacted. Pure.
// A template naming a variable is checked on every host of its play: a host lacking it, holding a value no
// template can take, or also setting a built-in's name, stops the run with the template's file:line:column.
import type { Vars } from '../inventory/vars.js';
import { builtinsOnlyProblem } from './extra-vars.js';
import { templateText } from './inventory-values.js';
import { BUILTIN_VARS } from './load.js';
import type { Play, Playbook, TemplateUse } from './types.js';

export type HostVarProblem =
  /** Some hosts of the play do not have the variable; `known`, when none has it (a typo?): the names there are. */
  | { kind: 'missing'; use: TemplateUse; play: Play; hosts: string[]; of: number; known?: string[] }
  /** Their value cannot go into a template (a list, a mapping, None, a `{{` of a non-built-in). */
  | { kind: 'unusable'; use: TemplateUse; play: Play; hosts: string[]; of: number; why: string }
  /** A built-in is used, and these hosts' inventories also set a variable of that name. */
  | { kind: 'builtin_clash'; use: TemplateUse; play: Play; hosts: string[]; of: number };

const isBuiltin = (name: string): boolean => (BUILTIN_VARS as readonly string[]).includes(name);

/** Why an inventory value cannot go into a template, or null (values may use built-ins only, like --var). */
function unusable(value: Vars[string]): string | null {
  const text = templateText(value);
  if (!text.ok) return text.why;
  return builtinsOnlyProblem(text.text, 'an inventory value');
}

/** The first problem in file order (plays in order), or null when every host can render every template. */
export function checkHostVars(
  playbook: Playbook,
  playHosts: ReadonlyMap<number, readonly string[]>,
  varsOf: (id: string) => Vars | undefined,
  extraVars: Readonly<Record<string, string>> = {},
): HostVarProblem | null {
  for (const play of playbook.plays) {
    const ids = playHosts.get(play.index) ?? [];
    for (const use of play.hostVarUses ?? []) {
      const has = (id: string) => Object.hasOwn(varsOf(id) ?? {}, use.name);
      if (isBuiltin(use.name)) {
        const hosts = ids.filter(has);
        if (hosts.length > 0) return { kind: 'builtin_clash', use, play, hosts, of: ids.length };
        continue;
      }
      const missing = ids.filter((id) => !has(id));
      if (missing.length === ids.length && ids.length > 0) {
        const names = new Set<string>([...BUILTIN_VARS, ...Object.keys(play.vars), ...Object.keys(extraVars)]);
        for (const id of ids) for (const name of Object.keys(varsOf(id) ?? {})) names.add(name);
        return { kind: 'missing', use, play, hosts: missing, of: ids.length, known: [...names].sort() };
      }
      if (missing.length > 0) return { kind: 'missing', use, play, hosts: missing, of: ids.length };
      const byWhy = new Map<string, string[]>();
      for (const id of ids) {
        const why = unusable(varsOf(id)![use.name]!);
        if (why !== null) byWhy.set(why, [...(byWhy.get(why) ?? []), id]);
      }
      const [first] = byWhy;
      if (first) return { kind: 'unusable', use, play, hosts: first[1], of: ids.length, why: first[0] };
    }
  }
  return null;
}

/**
 * The texts of a host's inventory variables that the playbook's templates use (what its workers need). Built-in
 * names stay out: checkHostVars refused their use when an inventory sets one.
 */
export function usedInventoryTexts(playbook: Playbook, vars: Vars | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!vars) return out;
  for (const play of playbook.plays) {
    for (const { name } of play.hostVarUses ?? []) {
      if (isBuiltin(name) || !Object.hasOwn(vars, name)) continue;
      const text = templateText(vars[name]!);
      if (text.ok) out[name] = text.text;
    }
  }
  return out;
}
