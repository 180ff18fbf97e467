// An Ansible inventory as its readers (INI, YAML) build it: groups with hosts, child groups and
// variables, hosts with variables, the implicit `all` and `ungrouped`. Then resolved into targets:
// each host's variables merged in Ansible's order (vars.ts) and its connection variables
// (ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file) turned into where and how
// herd connects. A connection variable herd does not honour is an error, never ignored. Pure.
import { InventoryError, type SourcePosition } from '../errors.js';
import { HostSpecError, formatHostSpec, parseHostSpec } from './host-spec.js';
import type { GroupTree, ParsedInventory, Target } from './types.js';
import { byPrecedence, type VarValue, type Vars } from './vars.js';

export interface VarDef {
  value: VarValue;
  pos: SourcePosition;
}

interface Group {
  hosts: string[];
  children: string[];
  parents: string[];
  vars: Map<string, VarDef>;
}

interface Host {
  pos: SourcePosition;
  groups: string[];
  vars: Map<string, VarDef>;
}

/** Variables that say where, as whom or with which key to connect, by the field they set. */
const CONNECTION: Record<string, 'host' | 'port' | 'user' | 'key'> = {
  ansible_host: 'host',
  ansible_ssh_host: 'host',
  ansible_port: 'port',
  ansible_ssh_port: 'port',
  ansible_user: 'user',
  ansible_ssh_user: 'user',
  ansible_ssh_private_key_file: 'key',
  ansible_private_key_file: 'key',
};
/** ansible_* variables that change nothing about how herd connects or runs commands. */
const HARMLESS = new Set(['ansible_python_interpreter', 'ansible_connection']);

export class AnsibleInventory {
  readonly groups = new Map<string, Group>();
  readonly hosts = new Map<string, Host>();

  constructor() {
    this.group('all');
    this.group('ungrouped');
  }

  group(name: string): Group {
    let g = this.groups.get(name);
    if (!g) {
      g = { hosts: [], children: [], parents: [], vars: new Map() };
      this.groups.set(name, g);
    }
    return g;
  }

  addHost(name: string, group: string | null, pos: SourcePosition, vars: Map<string, VarDef>): void {
    let h = this.hosts.get(name);
    if (!h) {
      h = { pos, groups: [], vars: new Map() };
      this.hosts.set(name, h);
    }
    for (const [k, v] of vars) h.vars.set(k, v);
    // Listed under ungrouped: drawn there first (as Ansible does), unless another group claims the host.
    if (group === 'ungrouped') {
      if (!this.group('ungrouped').hosts.includes(name)) this.group('ungrouped').hosts.push(name);
      return;
    }
    if (group !== null && group !== 'all' && !h.groups.includes(group)) {
      h.groups.push(group);
      this.group(group).hosts.push(name);
    }
  }

  addChild(parent: string, child: string, pos: SourcePosition): void {
    if (parent === child || this.ancestors(parent).has(child)) {
      throw new InventoryError(pos, `group ${child} as a child of ${parent} makes a loop`);
    }
    if (child === 'all') throw new InventoryError(pos, 'group all cannot be a child group');
    const p = this.group(parent);
    const c = this.group(child);
    if (!p.children.includes(child)) p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
  }

  private ancestors(name: string): Set<string> {
    const out = new Set<string>();
    const walk = (n: string) => {
      for (const p of this.groups.get(n)?.parents ?? []) {
        if (out.has(p)) continue;
        out.add(p);
        walk(p);
      }
    };
    walk(name);
    return out;
  }

  /** Longest chain up to `all`, as Ansible's group depth (a child group's variables win). */
  private depth(name: string, memo = new Map<string, number>()): number {
    if (name === 'all') return 0;
    const known = memo.get(name);
    if (known !== undefined) return known;
    const parents = this.groups.get(name)!.parents;
    const d = parents.length === 0 ? 1 : Math.max(...parents.map((p) => this.depth(p, memo) + 1));
    memo.set(name, d);
    return d;
  }

  /** Hosts in first-seen order, each with its groups (and their ancestors), variables and connection. */
  resolve(): ParsedInventory {
    const byId = new Map<string, string>();
    const targets: Target[] = [];
    for (const [name, h] of this.hosts) {
      const direct = h.groups.length > 0 ? h.groups : ['ungrouped'];
      const groups = [...direct];
      for (const g of direct) for (const a of this.ancestors(g)) if (a !== 'all' && !groups.includes(a)) groups.push(a);
      const defs = new Map<string, VarDef>();
      const layers = ['all', ...groups].map((g) => ({ name: g, depth: this.depth(g), vars: this.groups.get(g)!.vars }));
      // Each value keeps its position, so an error names the line whose value won.
      for (const l of byPrecedence(layers)) for (const [k, v] of l.vars) defs.set(k, v);
      for (const [k, v] of h.vars) defs.set(k, v);
      const target = connectionOf(name, h, defs, groups);
      const other = byId.get(target.id);
      if (other !== undefined) {
        throw new InventoryError(
          h.pos,
          `hosts ${other} and ${name} both connect to ${target.id}; herd runs each target once`,
        );
      }
      byId.set(target.id, name);
      targets.push(target);
    }
    return { targets, warnings: [], tree: this.tree(targets) };
  }

  private tree(targets: Target[]): GroupTree {
    const idOf = new Map(targets.map((t) => [t.name ?? t.id, t.id]));
    const tree: GroupTree = new Map();
    const bare = (n: string) => this.hosts.get(n)!.groups.length === 0;
    const listed = this.groups.get('ungrouped')!.hosts.filter(bare);
    const ungrouped = [...listed, ...[...this.hosts.keys()].filter((n) => bare(n) && !listed.includes(n))].map((n) =>
      idOf.get(n)!,
    );
    for (const [name, g] of this.groups) {
      // all's children: the groups with no other parent, and those a YAML inventory nests under all.
      const top = (n: string, c: Group) => n !== 'all' && (c.parents.length === 0 || c.parents.includes('all'));
      const children = name === 'all' ? [...this.groups].filter(([n, c]) => top(n, c)).map(([n]) => n) : g.children;
      const hosts = name === 'ungrouped' ? ungrouped : g.hosts.map((n) => idOf.get(n)!);
      tree.set(name, { children, hosts });
    }
    return tree;
  }
}

function connectionOf(name: string, h: Host, defs: Map<string, VarDef>, groups: string[]): Target {
  const vars: Vars = {};
  for (const [k, v] of defs) vars[k] = v.value;
  const fail = (key: string, detail: string): never => {
    throw new InventoryError(defs.get(key)?.pos ?? h.pos, `host ${name}: ${detail}`);
  };
  const field: Partial<Record<'host' | 'port' | 'user' | 'key', { key: string; value: VarValue }>> = {};
  for (const [key, def] of defs) {
    if (!key.startsWith('ansible_')) continue;
    const f = CONNECTION[key];
    if (f) field[f] = { key, value: def.value };
    else if (key === 'ansible_connection' && def.value !== 'ssh' && def.value !== 'smart') {
      fail(key, `ansible_connection=${String(def.value)}: herd connects only over SSH`);
    } else if (!HARMLESS.has(key)) {
      fail(
        key,
        `${key} is not supported by herd, and ignoring it could change where or how herd connects or runs; remove it or use herd's own options`,
      );
    }
  }
  const text = (f: 'host' | 'port' | 'user' | 'key'): string | undefined => {
    const v = field[f];
    if (v === undefined) return undefined;
    if (typeof v.value === 'string' || (typeof v.value === 'number' && f === 'port')) return String(v.value);
    return fail(v.key, `${v.key} must be a string, not ${JSON.stringify(v.value)}`);
  };
  const hostText = text('host') ?? name;
  let spec;
  try {
    spec = parseHostSpec(hostText.includes(':') && !hostText.startsWith('[') ? `[${hostText}]` : hostText);
  } catch (err) {
    if (err instanceof HostSpecError)
      fail(field.host?.key ?? '', `${err.message}${field.host ? '' : ' (set ansible_host to connect elsewhere)'}`);
    throw err;
  }
  if (spec!.user !== undefined || spec!.port !== undefined)
    fail(field.host?.key ?? '', `${JSON.stringify(hostText)} is not a plain address`);
  const target: Target = { id: '', host: spec!.host, groups };
  const port = text('port');
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
      fail(field.port!.key, `${field.port!.key}=${port}: expected a port 1-65535`);
    target.port = Number(port);
  }
  const user = text('user');
  if (user !== undefined) {
    try {
      target.user = parseHostSpec(`${user}@x`).user!;
    } catch (err) {
      if (err instanceof HostSpecError) fail(field.user!.key, err.message);
      throw err;
    }
  }
  const key = text('key');
  if (key !== undefined) target.identityFile = key;
  target.id = formatHostSpec(target);
  if (name !== target.id) target.name = name;
  if (Object.keys(vars).length > 0) target.vars = vars;
  return target;
}
