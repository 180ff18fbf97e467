// Playbook YAML -> validated Playbook, every error with file:line:column. Pure: file checks are injected.
import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { PlaybookError, type SourcePosition } from '../errors.js';
import { findTemplateVars, renderTemplate, TemplateSyntaxError, type TemplateVar } from './template.js';
import type { Amount, Play, Step, StepExpect, TemplateUse } from './types.js';

export interface LoadOptions {
  fileExists: (p: string) => boolean;
  /** --var values; they may be used by templates and override play vars. */
  extraVars?: Record<string, string>;
  /**
   * Templates may name inventory variables: a name that is no built-in, play var or --var is recorded in
   * `hostVarUses` and checked per host once the hosts are chosen (checkHostVars), not refused here.
   */
  inventoryVars?: boolean;
}

const PLAY_KEYS = [
  'name',
  'hosts',
  'vars',
  'serial',
  'max_fail',
  'become',
  'become_user',
  'become_method',
  'steps',
] as const;
const STEP_KINDS = ['run', 'script', 'push', 'pull'] as const;
const STEP_KEYS = [
  ...STEP_KINDS,
  'name',
  'when',
  'unless',
  'creates',
  'removes',
  'check',
  'expect',
  'timeout',
  'ignore_errors',
  'become',
  'become_user',
  'become_method',
  'args',
] as const;
const EXPECT_KEYS = ['exit', 'stdout', 'consensus'] as const;
const TRANSFER_KEYS = ['src', 'dest'] as const;
export const BUILTIN_VARS = ['host', 'port', 'user', 'run_id'] as const;

class Context {
  readonly lines = new LineCounter();
  /** The play being read: its uses of host-supplied names. */
  uses: TemplateUse[] = [];
  constructor(
    readonly file: string,
    readonly text: string,
    readonly opts: LoadOptions,
  ) {}

  at(offset: number): SourcePosition {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  posOf(node: Node | null | undefined): SourcePosition {
    return this.at(node?.range?.[0] ?? 0);
  }

  fail(node: Node | null | undefined, detail: string): never {
    throw new PlaybookError(this.posOf(node), detail);
  }
}

/** Parse and validate a playbook; throws PlaybookError at the first problem. */
export function loadPlaybook(input: { file: string; text: string }, opts: LoadOptions): import('./types.js').Playbook {
  const ctx = new Context(input.file, input.text, opts);
  const doc = parseDocument(input.text, { lineCounter: ctx.lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) throw new PlaybookError(ctx.at(first.pos[0]), `YAML syntax: ${first.message.split('\n')[0]}`);
  const root = doc.contents as Node | null;
  if (root === null || root === undefined)
    throw new PlaybookError(ctx.at(0), 'the playbook is empty: expected a play or a list of plays');
  const playNodes: Node[] = isSeq(root)
    ? (root.items as Node[])
    : isMap(root)
      ? [root]
      : ctx.fail(root, 'expected a play (a mapping) or a list of plays');
  if (playNodes.length === 0) ctx.fail(root, 'the list of plays is empty');
  return { file: input.file, plays: playNodes.map((node, i) => readPlay(ctx, node, i + 1)) };
}

export function typeName(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node))
    return node.value === null ? 'nothing' : typeof node.value === 'string' ? 'a string' : `a ${typeof node.value}`;
  return 'nothing';
}

export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** Ansible's word for what herd names otherwise: the did-you-mean for a playbook written by Ansible habit. */
const ANSIBLE_WORDS: Partial<Record<string, string>> = {
  tasks: 'steps',
  shell: 'run',
  command: 'run',
  raw: 'run',
  copy: 'push',
  synchronize: 'push',
  fetch: 'pull',
  max_fail_percentage: 'max_fail',
};

/** The pairs of a mapping, checked against the allowed keys (with a did-you-mean). */
function entries(ctx: Context, map: YAMLMap, allowed: readonly string[], what: string): Map<string, Pair<Node, Node>> {
  const out = new Map<string, Pair<Node, Node>>();
  for (const pair of map.items as Pair<Node, Node>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ctx.fail(pair.key, `${what} keys must be plain words`);
    if (!allowed.includes(key)) {
      const close =
        (ANSIBLE_WORDS[key] !== undefined && allowed.includes(ANSIBLE_WORDS[key]) ? ANSIBLE_WORDS[key] : undefined) ??
        allowed.filter((k) => editDistance(k, key) <= 2).sort((x, y) => editDistance(x, key) - editDistance(y, key))[0];
      ctx.fail(
        pair.key,
        `unknown ${what} key "${key}"${close ? ` (did you mean "${close}"?)` : `; allowed: ${allowed.join(', ')}`}`,
      );
    }
    out.set(key, pair);
  }
  return out;
}

/** Keys holding shell text: `run: true` means the command `true`, not a boolean. */
const SHELL_KEYS = new Set(['run', 'when', 'unless', 'args', 'name']);

function str(ctx: Context, pair: Pair<Node, Node> | undefined, key: string): string | undefined {
  if (!pair) return undefined;
  const v = pair.value;
  if (SHELL_KEYS.has(key) && isScalar(v) && (typeof v.value === 'number' || typeof v.value === 'boolean'))
    return String(v.source ?? v.value);
  if (!isScalar(v) || v.value === null || typeof v.value === 'object')
    ctx.fail(v ?? pair.key, `expected a string for "${key}", got ${typeName(v)}`);
  if (typeof v.value !== 'string') ctx.fail(v, `expected a string for "${key}", got ${typeName(v)}`);
  return v.value;
}

/**
 * Ansible reads playbooks as YAML 1.1 (PyYAML): a plain yes/no/on/off is a boolean there, a string
 * in YAML 1.2. Exactly PyYAML's spellings (not the y/n of the YAML 1.1 spec, which PyYAML leaves
 * strings); quoted, they stay strings in both, so "yes" is still refused.
 */
const YAML11_BOOLEANS: ReadonlyMap<string, boolean> = new Map(
  ['yes', 'true', 'on', 'no', 'false', 'off'].flatMap((w) => {
    const value = w === 'yes' || w === 'true' || w === 'on';
    return [w, w[0]!.toUpperCase() + w.slice(1), w.toUpperCase()].map((s) => [s, value] as const);
  }),
);

/** A YAML node read as Ansible reads a boolean; undefined when it is none. */
export function ansibleBoolean(v: unknown): boolean | undefined {
  if (!isScalar(v)) return undefined;
  if (typeof v.value === 'boolean') return v.value;
  return v.type === 'PLAIN' && typeof v.value === 'string' ? YAML11_BOOLEANS.get(v.value) : undefined;
}

/** A string (an environment variable's value) read as an unquoted YAML 1.1 boolean. */
export function yaml11Boolean(text: string): boolean | undefined {
  return YAML11_BOOLEANS.get(text);
}

function bool(ctx: Context, pair: Pair<Node, Node> | undefined, key: string): boolean {
  if (!pair) return false;
  const v = pair.value;
  const b = ansibleBoolean(v);
  if (b === undefined) ctx.fail(v ?? pair.key, `expected true or false for "${key}", got ${typeName(v)}`);
  return b;
}

function amount(ctx: Context, pair: Pair<Node, Node> | undefined, key: string): Amount | undefined {
  if (!pair) return undefined;
  const v = pair.value;
  if (
    isScalar(v) &&
    typeof v.value === 'number' &&
    Number.isInteger(v.value) &&
    v.value >= (key === 'max_fail' ? 0 : 1)
  )
    return { kind: 'count', n: v.value };
  if (isScalar(v) && typeof v.value === 'string') {
    const m = /^(\d+(?:\.\d+)?)%$/.exec(v.value.trim());
    if (m && Number(m[1]) > 0 && Number(m[1]) <= 100) return { kind: 'percent', p: Number(m[1]) };
  }
  return ctx.fail(
    v ?? pair.key,
    `expected a ${key === 'max_fail' ? 'count (0 or more)' : 'positive count'} or a percentage like "10%" for "${key}", got ${isScalar(v) ? JSON.stringify(v.value) : typeName(v)}`,
  );
}

function readPlay(ctx: Context, node: Node, index: number): Play {
  if (!isMap(node)) ctx.fail(node, `play ${index}: expected a mapping with steps, got ${typeName(node)}`);
  const keys = entries(ctx, node, PLAY_KEYS, 'play');
  refuseTemplates(ctx, keys.get('name'), 'name', NOT_TEMPLATED.playName);
  refuseTemplates(ctx, keys.get('hosts'), 'hosts', NOT_TEMPLATED.hosts);
  const vars = readVars(ctx, keys.get('vars'));
  const stepsPair = keys.get('steps') ?? ctx.fail(node, `play ${index}: missing "steps"`);
  const stepsNode = stepsPair.value;
  if (!isSeq(stepsNode) || stepsNode.items.length === 0)
    ctx.fail(stepsNode ?? stepsPair.key, `expected a non-empty list for "steps", got ${typeName(stepsNode)}`);
  const known = new Set<string>([...BUILTIN_VARS, ...Object.keys(vars), ...Object.keys(ctx.opts.extraVars ?? {})]);
  ctx.uses = [];
  for (const pair of (keys.get('vars')?.value as YAMLMap | undefined)?.items ?? []) {
    checkTemplates(
      ctx,
      (pair as Pair<Node, Node>).value,
      new Set([...BUILTIN_VARS, ...Object.keys(ctx.opts.extraVars ?? {})]),
      {
        hint: `play vars may use built-ins${ctx.opts.inventoryVars ? ', inventory variables' : ''} and --var values only`,
        // Another play var is never read from the inventory instead: play vars do not use each other.
        notInventory: new Set(Object.keys(vars)),
      },
    );
  }
  const become = readBecome(ctx, keys, { become: false });
  const steps = (stepsNode.items as Node[]).map((s, i) => readStep(ctx, s, i + 1, known, become));
  const userPair = keys.get('become_user');
  if (userPair && !steps.some((s) => s.become))
    ctx.fail(userPair.key, `"become_user" does nothing here: no step of this play has "become: true"`);
  const play: Play = {
    index,
    name: str(ctx, keys.get('name'), 'name') ?? `play ${index}`,
    hosts: str(ctx, keys.get('hosts'), 'hosts') ?? 'all',
    vars,
    steps,
    position: ctx.posOf(node),
  };
  if (ctx.opts.inventoryVars) play.hostVarUses = ctx.uses;
  const serial = amount(ctx, keys.get('serial'), 'serial');
  const maxFail = amount(ctx, keys.get('max_fail'), 'max_fail');
  if (serial) play.serial = serial;
  if (maxFail) play.maxFail = maxFail;
  return play;
}

function readVars(ctx: Context, pair: Pair<Node, Node> | undefined): Record<string, string> {
  if (!pair) return {};
  const map = pair.value;
  if (!isMap(map)) return ctx.fail(map ?? pair.key, `expected a mapping for "vars", got ${typeName(map)}`);
  const vars: Record<string, string> = {};
  for (const item of map.items as Pair<Node, Node>[]) {
    const name = isScalar(item.key) ? String(item.key.value) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      ctx.fail(item.key, `bad variable name ${JSON.stringify(name)}: use letters, digits and _`);
    if ((BUILTIN_VARS as readonly string[]).includes(name)) {
      ctx.fail(item.key, `"${name}" is a built-in variable; choose another name`);
    }
    if (!isScalar(item.value) || item.value.value === null || typeof item.value.value === 'object')
      ctx.fail(item.value ?? item.key, `expected a scalar value for variable "${name}", got ${typeName(item.value)}`);
    vars[name] = String(item.value.value);
  }
  return vars;
}

/** Where the `{{` at `offset` of a scalar's value is in the file (the same `{{` counted in its source text). */
function templatePos(ctx: Context, node: Node, value: string, offset: number): SourcePosition {
  const start = node.range?.[0] ?? 0;
  const raw = ctx.text.slice(start, node.range?.[1] ?? start);
  const nth = value.slice(0, offset).split('{{').length - 1;
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = raw.indexOf('{{', at + 1);
    if (at < 0) return ctx.at(start);
  }
  return ctx.at(start + at);
}

/**
 * Every `{{` in a scalar must open `{{ name }}` of a known variable (or, with inventoryVars, of a name some host
 * may supply); the error points at the `{{`. Uses of built-ins and inventory names are recorded in ctx.uses.
 */
function checkTemplates(
  ctx: Context,
  node: Node | null | undefined,
  known: Set<string>,
  opts: { hint?: string; notInventory?: ReadonlySet<string> } = {},
): void {
  if (!node || !isScalar(node) || typeof node.value !== 'string') return;
  const value = node.value;
  let vars: TemplateVar[];
  try {
    vars = findTemplateVars(value);
  } catch (err) {
    if (err instanceof TemplateSyntaxError)
      throw new PlaybookError(templatePos(ctx, node, value, err.offset), err.message);
    throw err;
  }
  for (const v of vars) {
    const builtin = (BUILTIN_VARS as readonly string[]).includes(v.name);
    const fromHost = builtin || (!known.has(v.name) && ctx.opts.inventoryVars && !opts.notInventory?.has(v.name));
    if (fromHost) ctx.uses.push({ name: v.name, position: templatePos(ctx, node, value, v.offset) });
    if (known.has(v.name) || fromHost) continue;
    const detail = opts.hint ? ` (${opts.hint})` : `; known: ${[...known].sort().join(', ')}`;
    throw new PlaybookError(templatePos(ctx, node, value, v.offset), `unknown variable "${v.name}"${detail}`);
  }
}

/** Fields herd never renders: a `{{` there would reach the user unrendered, so it is refused. */
function refuseTemplates(ctx: Context, pair: Pair<Node, Node> | undefined, key: string, why: string): void {
  const node = pair?.value;
  if (!node || !isScalar(node) || typeof node.value !== 'string') return;
  const offset = node.value.indexOf('{{');
  if (offset >= 0)
    throw new PlaybookError(templatePos(ctx, node, node.value, offset), `"${key}" is not templated: ${why}`);
}

/** A step's become settings; `become_user` on a step that does not become would silently do nothing. */
function stepBecome(ctx: Context, keys: Map<string, Pair<Node, Node>>, inherited: Become): Become {
  const become = readBecome(ctx, keys, inherited);
  const userPair = keys.get('become_user');
  if (userPair && !become.become)
    ctx.fail(userPair.key, `"become_user" does nothing without "become: true" on this step or its play`);
  return become.become ? become : { become: false };
}

const NOT_TEMPLATED = {
  stepName: "it labels the step in every host's results; write the value out",
  playName: "it labels the play in every host's results; write the value out",
  hosts: 'it selects the hosts before any per-host value exists',
  becomeUser: 'it names the account sudo runs the step as; write the name out',
  script: 'it names one local file, checked before any host is contacted; pass per-host values in "args"',
} as const;

/** How a play or step becomes another user: its own keys over what it inherits (a step inherits its play's). */
interface Become {
  become: boolean;
  becomeUser?: string;
}

// sudo's -u takes a name or #uid; only plain account names are let through, since it goes into shell text.
const BECOME_USER = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function readBecome(ctx: Context, keys: Map<string, Pair<Node, Node>>, inherited: Become): Become {
  const methodPair = keys.get('become_method');
  if (methodPair) {
    const method = str(ctx, methodPair, 'become_method');
    if (method !== 'sudo')
      ctx.fail(
        methodPair.value ?? methodPair.key,
        `become_method ${JSON.stringify(method)} is not supported: herd becomes another user through sudo only`,
      );
  }
  const out: Become = { ...inherited };
  if (keys.has('become')) out.become = bool(ctx, keys.get('become'), 'become');
  const userPair = keys.get('become_user');
  if (userPair) {
    refuseTemplates(ctx, userPair, 'become_user', NOT_TEMPLATED.becomeUser);
    const user = str(ctx, userPair, 'become_user');
    if (user === undefined || !BECOME_USER.test(user))
      ctx.fail(
        userPair.value ?? userPair.key,
        `expected a user name for "become_user" (letters, digits, _ . -), got ${JSON.stringify(user)}`,
      );
    out.becomeUser = user;
  }
  return out;
}

function readStep(ctx: Context, node: Node, index: number, known: Set<string>, inherited: Become): Step {
  if (!isMap(node)) ctx.fail(node, `step ${index}: expected a mapping, got ${typeName(node)}`);
  const keys = entries(ctx, node, STEP_KEYS, 'step');
  const kinds = STEP_KINDS.filter((k) => keys.has(k));
  if (kinds.length === 0) ctx.fail(node, `step ${index}: needs one of ${STEP_KINDS.join(', ')}`);
  if (kinds.length > 1)
    ctx.fail(
      keys.get(kinds[1]!)!.key,
      `step ${index}: has both "${kinds[0]}" and "${kinds[1]}"; a step does one thing`,
    );
  const kind = kinds[0]!;
  for (const [key, pair] of keys) {
    if (['run', 'when', 'unless', 'creates', 'removes', 'args'].includes(key)) checkTemplates(ctx, pair.value, known);
  }
  refuseTemplates(ctx, keys.get('name'), 'name', NOT_TEMPLATED.stepName);
  refuseTemplates(ctx, keys.get('script'), 'script', NOT_TEMPLATED.script);
  const common = {
    index,
    name: '',
    check: bool(ctx, keys.get('check'), 'check'),
    ignoreErrors: bool(ctx, keys.get('ignore_errors'), 'ignore_errors'),
    ...stepBecome(ctx, keys, inherited),
    position: ctx.posOf(node),
  };
  const guards: Partial<Record<'when' | 'unless' | 'creates' | 'removes', string>> = {};
  for (const g of ['when', 'unless', 'creates', 'removes'] as const) {
    const value = str(ctx, keys.get(g), g);
    if (value !== undefined) guards[g] = value;
  }
  const timeoutPair = keys.get('timeout');
  let timeoutS: number | undefined;
  if (timeoutPair) {
    const v = timeoutPair.value;
    if (!isScalar(v) || typeof v.value !== 'number' || v.value <= 0)
      ctx.fail(
        v ?? timeoutPair.key,
        `expected a positive number of seconds for "timeout", got ${isScalar(v) ? JSON.stringify(v.value) : typeName(v)}`,
      );
    timeoutS = v.value;
  }
  const expect = readExpect(ctx, keys.get('expect'), known);
  if (keys.has('args') && kind !== 'script') ctx.fail(keys.get('args')!.key, `"args" only goes with "script"`);
  const base = { ...common, ...guards, ...(timeoutS !== undefined ? { timeoutS } : {}), ...(expect ? { expect } : {}) };
  let step: Step;
  switch (kind) {
    case 'run':
      step = { ...base, kind, run: str(ctx, keys.get('run'), 'run')! };
      break;
    case 'script': {
      const scriptPair = keys.get('script')!;
      const rel = str(ctx, scriptPair, 'script')!;
      const script = path.resolve(path.dirname(ctx.file), rel);
      if (!ctx.opts.fileExists(script)) ctx.fail(scriptPair.value, `script ${rel} not found (looked for ${script})`);
      const args = str(ctx, keys.get('args'), 'args');
      step = { ...base, kind, script, ...(args !== undefined ? { args } : {}) };
      break;
    }
    case 'push':
    case 'pull': {
      const pair = keys.get(kind)!;
      if (!isMap(pair.value))
        ctx.fail(
          pair.value ?? pair.key,
          `expected a mapping with src and dest for "${kind}", got ${typeName(pair.value)}`,
        );
      const t = entries(ctx, pair.value, TRANSFER_KEYS, kind);
      const src = str(ctx, t.get('src'), 'src') ?? ctx.fail(pair.value, `${kind}: missing "src"`);
      const dest = str(ctx, t.get('dest'), 'dest') ?? ctx.fail(pair.value, `${kind}: missing "dest"`);
      checkTemplates(ctx, t.get('src')!.value, known);
      checkTemplates(ctx, t.get('dest')!.value, known);
      let resolvedSrc = src;
      if (kind === 'push') {
        resolvedSrc = path.resolve(path.dirname(ctx.file), src) + (src.endsWith('/') ? '/' : '');
        if (!src.includes('{{') && !ctx.opts.fileExists(resolvedSrc))
          ctx.fail(t.get('src')!.value, `push source ${src} not found (looked for ${resolvedSrc})`);
      }
      step = { ...base, kind, src: resolvedSrc, dest };
      break;
    }
  }
  step.name = str(ctx, keys.get('name'), 'name') ?? deriveName(step);
  return step;
}

function readExpect(ctx: Context, pair: Pair<Node, Node> | undefined, known: Set<string>): StepExpect | undefined {
  if (!pair) return undefined;
  if (!isMap(pair.value))
    return ctx.fail(pair.value ?? pair.key, `expected a mapping for "expect", got ${typeName(pair.value)}`);
  const keys = entries(ctx, pair.value, EXPECT_KEYS, 'expect');
  const expect: StepExpect = {};
  const exitPair = keys.get('exit');
  if (exitPair) {
    const v = exitPair.value;
    const items = isSeq(v) ? (v.items as Node[]) : [v];
    expect.exit = items.map((item) => {
      if (
        !isScalar(item) ||
        typeof item.value !== 'number' ||
        !Number.isInteger(item.value) ||
        item.value < 0 ||
        item.value > 255
      ) {
        return ctx.fail(
          item ?? exitPair.key,
          `expected exit codes 0-255 for "exit", got ${isScalar(item) ? JSON.stringify(item.value) : typeName(item)}`,
        );
      }
      return item.value;
    });
  }
  const stdout = str(ctx, keys.get('stdout'), 'stdout');
  if (stdout !== undefined) {
    checkTemplates(ctx, keys.get('stdout')!.value, known);
    try {
      // Values are put in escaped (they match literally), so any value leaves the regex as valid as "x" does.
      new RegExp(renderTemplate(stdout, Object.fromEntries(findTemplateVars(stdout).map((v) => [v.name, 'x']))));
    } catch (err) {
      ctx.fail(keys.get('stdout')!.value, `bad regular expression for "stdout": ${(err as Error).message}`);
    }
    expect.stdout = stdout;
  }
  if (keys.has('consensus')) expect.consensus = bool(ctx, keys.get('consensus'), 'consensus');
  return expect;
}

/** A readable default name: the step's kind and its first words. */
function deriveName(step: Step): string {
  const text =
    step.kind === 'run'
      ? step.run
      : step.kind === 'script'
        ? path.basename(step.script)
        : `${step.src} -> ${step.dest}`;
  const one = `${step.kind}: ${text.split('\n')[0]}`;
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}
