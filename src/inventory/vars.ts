// Host variables: which value a host ends up with when groups and the host set the same name. Pure.
//
// Precedence, lowest first, as Ansible orders inventory variables: group `all`, then the other groups
// by depth (a child group overrides its parent) and, at the same depth, by name (the later name wins);
// then the host's own variables. A playbook's play vars and --var come after all of these (see
// playbook/render.ts), as Ansible's play vars and extra vars override inventory variables.

/** INI values are scalars; a YAML inventory can also hold lists and mappings. */
export type VarValue = string | number | boolean | null | VarValue[] | { [key: string]: VarValue };
export type Vars = Record<string, VarValue>;

export interface GroupVarsSource {
  name: string;
  /** Longest chain of parents up to `all` (all: 0, its direct children: 1). */
  depth: number;
  vars: Vars;
}

/** Lowest precedence first: by depth, then by name. */
export function byPrecedence<G extends { name: string; depth: number }>(groups: readonly G[]): G[] {
  return [...groups].sort((a, b) => a.depth - b.depth || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function resolveVars(groups: readonly GroupVarsSource[], hostVars: Vars): Vars {
  const ordered = byPrecedence(groups);
  const out: Vars = {};
  for (const g of ordered) Object.assign(out, g.vars);
  return Object.assign(out, hostVars);
}
