// herd hosts: print the selected hosts, one per line, exactly as a run would target them; with
// --vars each host's resolved variables, with --graph the group tree.
import { loadInventory } from '../load-inventory.js';
import { selectShard } from '../shard-select.js';
import type { RawOptions } from '../options.js';
import { UsageError } from '../../errors.js';
import { writeText } from '../../report/terminal-safe.js';
import type { GroupTree, Target } from '../../inventory/types.js';
import type { VarValue } from '../../inventory/vars.js';

export function hostsCommand(raw: RawOptions): number {
  const chosen = [raw.json ? '--json' : null, raw.vars ? '--vars' : null, raw.graph ? '--graph' : null].filter(
    (f) => f !== null,
  );
  if (chosen.length > 1) throw new UsageError(`${chosen.join(' and ')} print different things; give one`);
  if (raw.graph && raw.shard !== undefined)
    throw new UsageError('--graph draws the whole inventory; --shard lists hosts');
  const loaded = loadInventory(raw.inventory ?? [], raw.limit, undefined, raw.inventoryFormat);
  for (const w of loaded.warnings) writeText(process.stderr, `herd: warning: ${w}\n`);
  // --shard K/N: the hosts that shard would run, to look before a sharded run acts.
  const inventory = { ...loaded, targets: selectShard(raw, loaded.targets).targets };
  if (raw.json) {
    // name (an Ansible host name other than the id) and vars only when there are some.
    const line = (t: Target) =>
      JSON.stringify({
        kind: 'host',
        id: t.id,
        ...(t.name !== undefined ? { name: t.name } : {}),
        host: t.host,
        port: t.port ?? null,
        user: t.user ?? null,
        groups: t.groups,
        ...(t.vars ? { vars: t.vars } : {}),
      });
    process.stdout.write(inventory.targets.map((t) => line(t) + '\n').join(''));
    return 0;
  }
  if (raw.vars) {
    writeText(process.stdout, inventory.targets.map((t) => varsLine(t) + '\n').join(''));
    return 0;
  }
  if (raw.graph) {
    writeText(process.stdout, graph(inventory.tree ?? treeOf(inventory.targets), inventory.targets).join('\n') + '\n');
    return 0;
  }
  process.stdout.write(inventory.targets.map((t) => t.id + '\n').join(''));
  return 0;
}

/**
 * `id<TAB>key=value<TAB>...`: strings as they are, other values as JSON; tabs and newlines escaped so a row stays a
 * row.
 */
function varsLine(t: Target): string {
  const show = (v: VarValue) =>
    (typeof v === 'string' ? v : JSON.stringify(v)).replace(/[\t\n\r\\]/g, (c) => JSON.stringify(c).slice(1, -1));
  return [t.id, ...Object.entries(t.vars ?? {}).map(([k, v]) => `${k}=${show(v)}`)].join('\t');
}

/** herd's own format has no child groups: all holds ungrouped and every group, in first-seen order. */
function treeOf(targets: Target[]): GroupTree {
  const tree: GroupTree = new Map([
    ['all', { children: ['ungrouped'], hosts: [] }],
    ['ungrouped', { children: [], hosts: [] }],
  ]);
  for (const t of targets) {
    if (t.groups.length === 0) tree.get('ungrouped')!.hosts.push(t.id);
    for (const g of t.groups) {
      if (!tree.has(g)) {
        tree.set(g, { children: [], hosts: [] });
        tree.get('all')!.children.push(g);
      }
      tree.get(g)!.hosts.push(t.id);
    }
  }
  return tree;
}

/** As ansible-inventory --graph draws it: child groups, then the group's own (selected) hosts by name. */
function graph(tree: GroupTree, selected: Target[]): string[] {
  const nameOf = new Map(selected.map((t) => [t.id, t.name ?? t.id]));
  const indent = (depth: number, text: string) => (depth === 0 ? text : `${'  |'.repeat(depth)}--${text}`);
  const walk = (group: string, depth: number): string[] => {
    const node = tree.get(group) ?? { children: [], hosts: [] };
    const hosts =
      group === 'all' ? [] : node.hosts.filter((h) => nameOf.has(h)).map((h) => indent(depth + 1, nameOf.get(h)!));
    return [indent(depth, `@${group}:`), ...node.children.flatMap((c) => walk(c, depth + 1)), ...hosts];
  };
  return walk('all', 0);
}
