// Ansible's YAML inventory format, as ansible-core's yaml plugin reads it: top-level groups (usually
// `all`), each a mapping of `hosts` (name -> variables), `vars` and `children` (name -> group).
// Host names take ranges and `:port` as in INI. Read as YAML 1.1, as PyYAML does (`yes` is true).
// Errors name file:line:column. Pure.
import { LineCounter, isMap, isScalar, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { InventoryError, type SourcePosition } from '../errors.js';
import { AnsibleRangeError, expandAnsibleRanges, splitPort } from './ansible-ini.js';
import { AnsibleInventory, type VarDef } from './ansible-model.js';
import type { InventorySource } from './types.js';
import type { VarValue } from './vars.js';

const GROUP_KEYS = ['hosts', 'vars', 'children'];

class Reader {
  readonly lines = new LineCounter();
  readonly inv = new AnsibleInventory();
  constructor(readonly file: string) {}

  pos(node: Node | Pair | null | undefined): SourcePosition {
    const range = (node as Node | null)?.range;
    const { line, col } = this.lines.linePos(range?.[0] ?? 0);
    return { file: this.file, line, column: col };
  }

  fail(node: Node | null | undefined, detail: string): never {
    throw new InventoryError(this.pos(node), detail);
  }

  /** A mapping, or nothing (`hosts:` with no value); anything else is an error. */
  map(node: unknown, what: string): Pair[] {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return [];
    if (!isMap(node)) this.fail(node as Node, `${what} must be a mapping`);
    return (node as YAMLMap).items as Pair[];
  }

  name(pair: Pair): string {
    const key = pair.key as Node;
    if (isScalar(key) && typeof key.value === 'boolean') {
      this.fail(key, `key ${key.source ?? ''} reads as a boolean in YAML 1.1, as Ansible reads it; quote it`);
    }
    if (!isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number'))
      this.fail(key, 'expected a name');
    const text = String((key as { value: unknown }).value);
    if (/[\x00-\x20\x7f]/.test(text)) this.fail(key, `control character or space in ${JSON.stringify(text)}`);
    return text;
  }

  vars(node: unknown, what: string): Map<string, VarDef> {
    const out = new Map<string, VarDef>();
    for (const pair of this.map(node, what)) {
      const key = this.name(pair);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
        this.fail(pair.key as Node, `bad variable name ${JSON.stringify(key)}`);
      const value = pair.value as Node | null;
      out.set(key, { value: (value === null ? null : value.toJSON()) as VarValue, pos: this.pos(pair.key as Node) });
    }
    return out;
  }

  group(name: string, node: unknown): void {
    this.inv.group(name);
    for (const pair of this.map(node, `group ${name}`)) {
      const key = this.name(pair);
      switch (key) {
        case 'hosts':
          for (const host of this.map(pair.value, `${name}.hosts`)) this.host(name, host);
          break;
        case 'vars':
          for (const [k, v] of this.vars(pair.value, `${name}.vars`)) this.inv.group(name).vars.set(k, v);
          break;
        case 'children':
          for (const child of this.map(pair.value, `${name}.children`)) {
            const childName = this.name(child);
            this.inv.addChild(name, childName, this.pos(child.key as Node));
            this.group(childName, child.value);
          }
          break;
        default:
          this.fail(
            pair.key as Node,
            `unexpected key ${JSON.stringify(key)} in group ${name} (expected ${GROUP_KEYS.join(', ')})`,
          );
      }
    }
  }

  host(group: string, pair: Pair): void {
    const text = this.name(pair);
    const where = this.pos(pair.key as Node);
    const vars = this.vars(pair.value, `host ${text}`);
    const { pattern, port } = splitPort(text);
    if (port !== undefined && !vars.has('ansible_port')) vars.set('ansible_port', { value: port, pos: where });
    let names: string[];
    try {
      names = expandAnsibleRanges(pattern);
    } catch (err) {
      if (err instanceof AnsibleRangeError) this.fail(pair.key as Node, err.message);
      throw err;
    }
    for (const n of names!) this.inv.addHost(n, group, where, vars);
  }
}

export function parseAnsibleYaml(source: InventorySource): AnsibleInventory {
  const r = new Reader(source.name);
  const doc = parseDocument(source.text, {
    lineCounter: r.lines,
    prettyErrors: false,
    uniqueKeys: true,
    version: '1.1',
  });
  const first = doc.errors[0];
  if (first)
    throw new InventoryError(
      r.pos({ range: [first.pos[0], 0, 0] } as unknown as Node),
      `YAML syntax: ${first.message.split('\n')[0]}`,
    );
  for (const pair of r.map(doc.contents, 'an Ansible YAML inventory')) r.group(r.name(pair), pair.value);
  return r.inv;
}
