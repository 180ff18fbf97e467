// Ansible's INI inventory format, read as ansible-core's ini plugin reads it: `[group]`,
// `[group:children]`, `[group:vars]`, `host:port`, host variables after the host (shell words, each
// value a Python literal when it is one), ranges `web[01:50]`, `[a:f]`, `[1:9:2]`. Pure.
import { InventoryError, type SourcePosition } from '../errors.js';
import { AnsibleInventory, type VarDef } from './ansible-model.js';
import { LiteralError, pyLiteral } from './py-literal.js';
import { MAX_EXPANSION } from './ranges.js';
import type { InventorySource } from './types.js';
import { WordError, splitWords } from './words.js';

const SECTION_RE = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;

export function parseAnsibleIni(source: InventorySource, inv = new AnsibleInventory()): AnsibleInventory {
  const lines = source.text.split(/\r?\n/);
  let group = 'ungrouped';
  let state = 'hosts' as 'hosts' | 'children' | 'vars';
  // As Ansible: [g] and [g:children] declare g; a [g:vars] section or a child named in [p:children]
  // for a group declared nowhere in the file is an error (a typo would otherwise match no host).
  const declared = new Set(['all', 'ungrouped']);
  const pending = new Map<string, { pos: SourcePosition; detail: string }>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const leading = raw.length - raw.trimStart().length;
    const line = raw.trim();
    const pos = (offset: number): SourcePosition => ({ file: source.name, line: i + 1, column: leading + offset + 1 });
    const fail = (offset: number, detail: string): never => {
      throw new InventoryError(pos(offset), detail);
    };
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    // As Ansible: `[fe80::2]:2222` is a host; a line that starts with [ and ends with ] is a section.
    const m = SECTION_RE.exec(line);
    if (m || (line.startsWith('[') && line.endsWith(']'))) {
      if (!m) fail(0, `bad section header ${line}`);
      if (/[\x00-\x1f\x7f]/.test(m![1]!)) fail(1, 'control character in a group name');
      group = m![1]!;
      const kind = m![2] ?? 'hosts';
      if (kind !== 'hosts' && kind !== 'children' && kind !== 'vars')
        fail(0, `section [${group}:${kind}] has an unknown type ${kind}`);
      state = kind as typeof state;
      inv.group(group);
      if (state === 'vars') {
        if (!pending.has(group))
          pending.set(group, {
            pos: pos(0),
            detail: `section [${group}:vars] is for group ${group}, declared nowhere`,
          });
      } else declared.add(group);
      continue;
    }
    switch (state) {
      case 'hosts':
        hostLine(inv, group, raw.slice(leading), pos, fail);
        break;
      case 'children': {
        const child = line.replace(/\s+#.*$/, '');
        if (/\s/.test(child) || /[\x00-\x1f\x7f]/.test(child)) fail(0, `bad child group name ${JSON.stringify(child)}`);
        inv.addChild(group, child, pos(0));
        if (!pending.has(child))
          pending.set(child, {
            pos: pos(0),
            detail: `section [${group}:children] names group ${child}, declared nowhere`,
          });
        break;
      }
      case 'vars': {
        const eq = line.indexOf('=');
        if (eq < 0) fail(0, `expected key=value in [${group}:vars], got ${JSON.stringify(line)}`);
        const key = line.slice(0, eq).trim();
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail(0, `bad variable name ${JSON.stringify(key)}`);
        inv
          .group(group)
          .vars.set(key, { value: literal(line.slice(eq + 1).trim(), (d) => fail(eq + 1, d)), pos: pos(0) });
        break;
      }
      default: {
        const never: never = state;
        throw new Error(`unknown state ${String(never)}`);
      }
    }
  }
  for (const [name, p] of pending) if (!declared.has(name)) throw new InventoryError(p.pos, p.detail);
  return inv;
}

function literal(text: string, fail: (detail: string) => never) {
  try {
    return pyLiteral(text);
  } catch (err) {
    if (err instanceof LiteralError) fail(err.message);
    throw err;
  }
}

function hostLine(
  inv: AnsibleInventory,
  group: string,
  line: string,
  pos: (offset: number) => SourcePosition,
  fail: (offset: number, detail: string) => never,
): void {
  let words;
  try {
    words = splitWords(line);
  } catch (err) {
    if (err instanceof WordError) fail(err.offset, err.message);
    throw err;
  }
  if (words!.length === 0) return;
  const [first, ...rest] = words!;
  const vars = new Map<string, VarDef>();
  for (const w of rest) {
    const eq = w.text.indexOf('=');
    if (eq < 0) fail(w.offset, `expected key=value host variable, got ${JSON.stringify(w.text)} (one host per line)`);
    const key = w.text.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail(w.offset, `bad variable name ${JSON.stringify(key)}`);
    vars.set(key, { value: literal(w.text.slice(eq + 1), (d) => fail(w.offset + eq + 1, d)), pos: pos(w.offset) });
  }
  const { pattern, port } = splitPort(first!.text);
  if (port !== undefined && !vars.has('ansible_port'))
    vars.set('ansible_port', { value: port, pos: pos(first!.offset) });
  let names: string[];
  try {
    names = expandAnsibleRanges(pattern);
  } catch (err) {
    if (err instanceof AnsibleRangeError) fail(first!.offset, err.message);
    throw err;
  }
  for (const name of names!) {
    if (/[\x00-\x20\x7f]/.test(name))
      fail(first!.offset, `control character or space in host name ${JSON.stringify(name)}`);
    inv.addHost(name, group, pos(first!.offset), vars);
  }
}

/** `host:port`, `[v6]:port`; a bare IPv6 address has no port, and a `:` inside a range is not one. */
export function splitPort(text: string): { pattern: string; port?: number } {
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(text);
  if (v6 && v6[1]!.includes(':'))
    return v6[2] !== undefined ? { pattern: v6[1]!, port: Number(v6[2]) } : { pattern: v6[1]! };
  const outside = text.replace(/\[[^\]]*\]/g, (b) => 'x'.repeat(b.length));
  if ((outside.match(/:/g) ?? []).length >= 2) return { pattern: text };
  const m = /:(\d+)$/.exec(outside);
  return m ? { pattern: text.slice(0, m.index), port: Number(m[1]) } : { pattern: text };
}

export class AnsibleRangeError extends Error {}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Ansible's expand_hostname_range: `[01:50]` keeps the padding, `[a:f]` walks letters, `[1:9:2]` steps. */
export function expandAnsibleRanges(pattern: string): string[] {
  const m = /^(.*?)\[([^\]]*)\](.*)$/s.exec(pattern);
  if (!m) return [pattern];
  const [, head, body, tail] = m;
  const parts = body!.split(':');
  if (parts.length < 2 || parts.length > 3)
    throw new AnsibleRangeError(`bad range [${body}]: expected [begin:end] or [begin:end:step]`);
  const [beg0, end, stepText] = parts as [string, string, string?];
  const beg = beg0 === '' ? '0' : beg0;
  const step = stepText === undefined || stepText === '' ? 1 : Number(stepText);
  if (!Number.isInteger(step) || step < 1)
    throw new AnsibleRangeError(`bad range step ${JSON.stringify(stepText)} in [${body}]`);
  const items: string[] = [];
  if (/^\d+$/.test(beg) && /^\d+$/.test(end)) {
    const width = beg.startsWith('0') && beg.length > 1 ? beg.length : 0;
    if (width > 0 && beg.length !== end.length)
      throw new AnsibleRangeError(`range [${body}]: begin and end must have the same width`);
    if (Number(end) < Number(beg)) throw new AnsibleRangeError(`range [${body}] goes backwards`);
    if ((Number(end) - Number(beg)) / step + 1 > MAX_EXPANSION)
      throw new AnsibleRangeError(`range [${body}] is larger than ${MAX_EXPANSION} hosts`);
    for (let n = Number(beg); n <= Number(end); n += step) items.push(String(n).padStart(width, '0'));
  } else if (/^[A-Za-z]$/.test(beg) && /^[A-Za-z]$/.test(end)) {
    const a = LETTERS.indexOf(beg);
    const b = LETTERS.indexOf(end);
    if (b < a) throw new AnsibleRangeError(`range [${body}] goes backwards`);
    for (let n = a; n <= b; n += step) items.push(LETTERS[n]!);
  } else {
    throw new AnsibleRangeError(`bad range [${body}]: both ends numbers, or both single letters`);
  }
  const tails = expandAnsibleRanges(tail!);
  if (items.length * tails.length > MAX_EXPANSION)
    throw new AnsibleRangeError(`${pattern} expands to more than ${MAX_EXPANSION} hosts`);
  return items.flatMap((item) => tails.map((t) => `${head}${item}${t}`));
}
