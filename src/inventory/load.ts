// Every -i source through the reader its format needs, merged in order. Pure.
// Across sources, as across Ansible's several -i: a host seen again joins the new groups and takes
// the later source's variables.
import { parseAnsibleIni } from './ansible-ini.js';
import { AnsibleInventory } from './ansible-model.js';
import { parseAnsibleYaml } from './ansible-yaml.js';
import { detectFormat, type InventoryFormatFlag } from './format.js';
import { parseInventory } from './parse.js';
import type { GroupTree, InventorySource, ParsedInventory, Target } from './types.js';

export function readInventories(sources: InventorySource[], flag?: InventoryFormatFlag): ParsedInventory {
  const parts: ParsedInventory[] = [];
  let herd: InventorySource[] = [];
  const flush = () => {
    if (herd.length > 0) parts.push(parseInventory(herd));
    herd = [];
  };
  for (const source of sources) {
    const format = detectFormat(source.name, source.text, flag);
    switch (format) {
      case 'herd':
        herd.push(source);
        break;
      case 'ansible-ini':
        flush();
        parts.push(parseAnsibleIni(source, new AnsibleInventory()).resolve());
        break;
      case 'ansible-yaml':
        flush();
        parts.push(parseAnsibleYaml(source).resolve());
        break;
      default: {
        const never: never = format;
        throw new Error(`unknown format ${String(never)}`);
      }
    }
  }
  flush();
  return parts.length === 1 ? parts[0]! : merge(parts);
}

function merge(parts: ParsedInventory[]): ParsedInventory {
  const byId = new Map<string, Target>();
  const warnings: string[] = [];
  let tree: GroupTree | undefined;
  for (const p of parts) {
    warnings.push(...p.warnings);
    for (const t of p.targets) {
      const seen = byId.get(t.id);
      if (!seen) byId.set(t.id, { ...t, groups: [...t.groups] });
      else {
        for (const g of t.groups) if (!seen.groups.includes(g)) seen.groups.push(g);
        if (t.vars) seen.vars = { ...seen.vars, ...t.vars };
        if (t.identityFile !== undefined) seen.identityFile = t.identityFile;
      }
    }
    if (p.tree) {
      tree ??= new Map();
      for (const [g, node] of p.tree) {
        const into = tree.get(g) ?? { children: [], hosts: [] };
        for (const c of node.children) if (!into.children.includes(c)) into.children.push(c);
        for (const h of node.hosts) if (!into.hosts.includes(h)) into.hosts.push(h);
        tree.set(g, into);
      }
    }
  }
  return { targets: [...byId.values()], warnings, ...(tree ? { tree } : {}) };
}
