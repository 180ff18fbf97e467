// herd.yml, ~/.config/herd/config.yml and HERD_* variables: text in, option values out, each with
// where it came from. Pure: the loader (config-load.ts) finds and reads the files.
//
// Keys and variable names are derived from the option table's rows (connectTimeout: connect_timeout,
// HERD_CONNECT_TIMEOUT), and values go through the same rules as the flags, so a file can say
// nothing a command line could not.
import path from 'node:path';
import { LineCounter, isScalar, isSeq, isMap, parseDocument, type Node, type Pair } from 'yaml';
import { UsageError } from '../errors.js';
import { ansibleBoolean, editDistance, typeName, yaml11Boolean } from '../playbook/load.js';
import { CONFIGURABLE, OPTIONS, type OptionKey, type OptionRow } from './option-table.js';

export { CONFIGURABLE };
import { parseDuration, parseNumber, parseSize } from './parse-value.js';

export type ConfigurableKey = (typeof CONFIGURABLE)[number];

/** Options only a command line gives, and why (refused in a file with this reason). */
export const COMMAND_LINE_ONLY: Readonly<Record<Exclude<OptionKey, ConfigurableKey>, string>> = {
  limit: 'a default selection would silently narrow every command',
  json: 'it changes what stdout is under the scripts that read it',
  times: 'it describes one transfer',
  checksum: 'it describes one transfer',
  delete: 'it describes one transfer',
  followLinks: 'it describes one transfer',
  keepSpecialBits: 'it describes one transfer',
  check: 'it describes one playbook run',
  var: 'it describes one playbook run',
  includeInterrupted: 'it describes one rerun',
  fromStart: 'it describes one rerun',
  resumeUnguarded: 'it describes one rerun',
  includeDiverged: 'it describes one rerun',
  host: 'it reads one past run',
  status: 'it reads one past run',
  all: 'it reads one past run',
  output: 'it reads one past run',
  runsDir: 'herd report reads its runs from out:',
  step: 'it reads one past run',
  against: 'it reads one past run',
  vars: 'it chooses what herd hosts prints',
  graph: 'it chooses what herd hosts prints',
  shard: 'a default shard would silently narrow every command',
  shardBy: 'it describes one sharded run',
  shardCount: 'it describes one sharded run',
  runGroup: 'it names one logical run',
  close: 'it ends the connection keepers once',
};

/** Options whose values are local paths: in a file, relative to the file's directory. */
const PATHS: ReadonlySet<OptionKey> = new Set(['inventory', 'key', 'knownHosts', 'sshConfig', 'out']);
/** Options that name an environment variable holding a secret. */
const ENV_NAMES: ReadonlySet<OptionKey> = new Set(['passwordEnv', 'keyPassphraseEnv', 'becomePassEnv']);

export const configKey = (key: OptionKey): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const envName = (key: OptionKey): string => `HERD_${configKey(key).toUpperCase()}`;

const BY_CONFIG_KEY: ReadonlyMap<string, OptionKey> = new Map(
  (Object.keys(OPTIONS) as OptionKey[]).map((k) => [configKey(k), k]),
);
const isConfigurable = (key: OptionKey): key is ConfigurableKey => (CONFIGURABLE as readonly OptionKey[]).includes(key);
const rowOf = (key: string): OptionRow | undefined => (OPTIONS as Record<string, OptionRow>)[key];

export type Value = string | string[] | boolean;

export type Origin =
  | { kind: 'built-in' }
  | { kind: 'file'; file: string; display: string; line: number; column: number }
  | { kind: 'env'; variable: string }
  | { kind: 'command-line' };

export interface Setting {
  key: ConfigurableKey;
  value: Value;
  origin: Origin;
}

export type Layer = ReadonlyMap<ConfigurableKey, Setting>;

/** How an origin reads in messages and in `herd config`. */
export function originText(o: Origin): string {
  switch (o.kind) {
    case 'built-in':
      return 'built-in';
    case 'file':
      return `${o.display}:${o.line}:${o.column}`;
    case 'env':
      return `env ${o.variable}`;
    case 'command-line':
      return 'command line';
    default: {
      const never: never = o;
      return never;
    }
  }
}

/** A secret-looking key, and the key that names its environment variable instead. */
function secretAlternative(word: string): string | null {
  if (/become.*pass/.test(word)) return 'become_pass_env';
  if (/passphrase/.test(word)) return 'key_passphrase_env';
  if (/pass(word)?$|secret|token/.test(word)) return 'password_env';
  return null;
}

interface Where {
  /** Prefix of every message about this value: `herd.yml:3:8: forks` or `HERD_FORKS`. */
  label: string;
  /** Relative paths are taken from here. */
  baseDir: string | null;
  home: string;
}

/** One value checked by its row's rules, as the flag would be; paths made absolute from baseDir. */
function checkValue(key: ConfigurableKey, value: Value, where: Where): Value {
  const r: OptionRow = OPTIONS[key];
  const fail = (detail: string): never => {
    throw new UsageError(`${where.label}: ${detail}`);
  };
  const resolvePath = (p: string): string => {
    if (where.baseDir === null || p === '-' || (key === 'sshConfig' && p === 'none')) return p;
    if (p === '~' || p.startsWith('~/')) return path.join(where.home, p.slice(1));
    return path.resolve(where.baseDir, p);
  };
  if (Array.isArray(value)) {
    if (where.baseDir !== null && value.includes('-')) fail('"-" (stdin) is for the command line');
    return PATHS.has(key) ? value.map(resolvePath) : value;
  }
  if (typeof value === 'boolean') return value;
  if (value === '') fail('expected a value, got ""');
  if (r.choices && !r.choices.includes(value))
    fail(`expected one of ${r.choices.join(', ')}, got ${JSON.stringify(value)}`);
  if (r.number) parseNumber(where.label, value, 0, r.number);
  if (key === 'maxOutput') parseSize(where.label, value);
  if (key === 'persist') parseDuration(where.label, value);
  if (ENV_NAMES.has(key) && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) {
    fail(
      `expected the name of an environment variable (the secret stays in the environment), got ${JSON.stringify(value)}`,
    );
  }
  return PATHS.has(key) ? resolvePath(value) : value;
}

/** A YAML value in the shape its row expects (flag, one string, a list of strings). */
function fromYaml(key: ConfigurableKey, node: Node | null, fail: (node: Node | null, detail: string) => never): Value {
  const r: OptionRow = OPTIONS[key];
  const scalarText = (n: Node | null): string => {
    if (isScalar(n) && (typeof n.value === 'string' || typeof n.value === 'number')) return String(n.value);
    return fail(n, `expected a string, got ${typeName(n)}`);
  };
  switch (r.value) {
    case 'flag':
    case 'negated': {
      const b = ansibleBoolean(node);
      return b ?? fail(node, `expected true or false, got ${typeName(node)}`);
    }
    case 'strings':
      return isSeq(node) ? (node.items as Node[]).map(scalarText) : [scalarText(node)];
    case 'string':
      return scalarText(node);
    default: {
      const never: never = r.value;
      return never;
    }
  }
}

/** Refuse two ways of one setting in the same place (--ask-pass with --password-env), as the command line does. */
function refuseRivals(
  settings: Map<ConfigurableKey, Setting>,
  label: (s: Setting) => string,
  name: (k: OptionKey) => string,
): void {
  for (const s of settings.values()) {
    for (const other of rowOf(s.key)?.displaces ?? []) {
      const rival = settings.get(other as ConfigurableKey);
      if (rival) throw new UsageError(`${label(s)}${name(s.key)} and ${name(rival.key)}: choose one`);
    }
  }
}

export interface ConfigText {
  /** Absolute path of the file. */
  path: string;
  /** How messages name it (relative to the current directory when inside it). */
  display: string;
  text: string;
}

/** Parse one configuration file; every error names display:line:column. */
export function parseConfigFile(input: ConfigText, home: string): Map<ConfigurableKey, Setting> {
  const lines = new LineCounter();
  const at = (offset: number): { line: number; column: number } => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const pos = (node: Node | null | undefined): string => {
    const p = at(node?.range?.[0] ?? 0);
    return `${input.display}:${p.line}:${p.column}`;
  };
  const fail = (node: Node | null | undefined, detail: string): never => {
    throw new UsageError(`${pos(node)}: ${detail}`);
  };
  const doc = parseDocument(input.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const p = at(first.pos[0]);
    throw new UsageError(`${input.display}:${p.line}:${p.column}: YAML syntax: ${first.message.split('\n')[0]}`);
  }
  const root = doc.contents as Node | null;
  const out = new Map<ConfigurableKey, Setting>();
  if (root === null || (isScalar(root) && root.value === null)) return out;
  if (!isMap(root)) return fail(root, `expected a mapping of settings (forks: 50), got ${typeName(root)}`);
  const allowed = CONFIGURABLE.map(configKey);
  for (const pair of root.items as Pair<Node, Node>[]) {
    const word = isScalar(pair.key) ? String(pair.key.value) : fail(pair.key, 'setting names must be plain words');
    const key = BY_CONFIG_KEY.get(word);
    if (key === undefined) {
      const secret = secretAlternative(word);
      if (secret)
        throw new UsageError(
          `${pos(pair.key)}: ${word}: secrets are not kept in files; set ${secret} to the name of an environment variable that holds it`,
        );
      const close = allowed
        .filter((k) => editDistance(k, word) <= 2)
        .sort((x, y) => editDistance(x, word) - editDistance(y, word))[0];
      throw new UsageError(
        `${pos(pair.key)}: unknown setting "${word}"${close ? ` (did you mean "${close}"?)` : '; `herd config` lists them'}`,
      );
    }
    if (!isConfigurable(key))
      throw new UsageError(`${pos(pair.key)}: ${word} is for the command line only: ${COMMAND_LINE_ONLY[key]}`);
    const { line, column } = at(pair.value?.range?.[0] ?? pair.key.range?.[0] ?? 0);
    const where: Where = {
      label: `${input.display}:${line}:${column}: ${word}`,
      baseDir: path.dirname(input.path),
      home,
    };
    const value = checkValue(
      key,
      fromYaml(key, pair.value, (n, d) => fail(n ?? pair.key, `${word}: ${d}`)),
      where,
    );
    out.set(key, { key, value, origin: { kind: 'file', file: input.path, display: input.display, line, column } });
  }
  refuseRivals(out, (s) => `${originText(s.origin)}: `, configKey);
  return out;
}

/** The HERD_* variables of an environment. Empty ones count as unset; lists are :-separated like PATH. */
export function parseEnv(
  env: Readonly<Record<string, string | undefined>>,
  home: string,
): Map<ConfigurableKey, Setting> {
  const out = new Map<ConfigurableKey, Setting>();
  for (const key of CONFIGURABLE) {
    const variable = envName(key);
    const text = env[variable];
    if (text === undefined || text === '') continue;
    const where: Where = { label: variable, baseDir: null, home };
    const r: OptionRow = OPTIONS[key];
    let value: Value;
    if (r.value === 'flag' || r.value === 'negated') {
      const b = yaml11Boolean(text);
      if (b === undefined)
        throw new UsageError(`${variable}: expected true or false (or yes/no, on/off), got ${JSON.stringify(text)}`);
      value = b;
    } else value = r.value === 'strings' ? text.split(':').filter((p) => p !== '') : text;
    out.set(key, { key, value: checkValue(key, value, where), origin: { kind: 'env', variable } });
  }
  refuseRivals(out, () => '', envName);
  return out;
}

/**
 * HERD_* names that are not settings. One naming a command-line-only option is refused (HERD_LIMIT
 * or HERD_CHECK ignored would run on more hosts, or for real); one close to a setting's name is a
 * warning with a did-you-mean. Others are left alone: HERD_PASS may well hold a password.
 */
export function envNotSettings(env: Readonly<Record<string, string | undefined>>): string[] {
  const settable = CONFIGURABLE.map(envName);
  const warnings: string[] = [];
  for (const [variable, text] of Object.entries(env)) {
    if (!variable.startsWith('HERD_') || text === undefined || text === '' || settable.includes(variable)) continue;
    const key = BY_CONFIG_KEY.get(variable.slice('HERD_'.length).toLowerCase());
    if (key !== undefined && !isConfigurable(key)) {
      throw new UsageError(`${variable}: ${configKey(key)} is for the command line only: ${COMMAND_LINE_ONLY[key]}`);
    }
    const close = settable.find((v) => editDistance(v, variable) <= 2);
    if (close) warnings.push(`${variable} is not a setting (did you mean ${close}?); it is not read`);
  }
  return warnings;
}

/**
 * The winning setting per option: layers from lowest to highest precedence, then `given` (the
 * options of the command line, highest). A setting also drops the lower layers' ways of saying the
 * same thing (option-table.ts `displaces`): password_env in herd.yml beats ask_pass in config.yml.
 */
export function mergeLayers(layers: readonly Layer[], given: ReadonlySet<OptionKey>): Map<ConfigurableKey, Setting> {
  const out = new Map<ConfigurableKey, Setting>();
  const taken = new Set<string>();
  const displace = (key: OptionKey): void => {
    taken.add(key);
    for (const other of rowOf(key)?.displaces ?? []) taken.add(other);
  };
  for (const key of given) displace(key);
  for (const layer of [...layers].reverse()) {
    const here: OptionKey[] = [];
    for (const [key, s] of layer) {
      if (taken.has(key)) continue;
      out.set(key, s);
      here.push(key);
    }
    for (const key of here) displace(key);
  }
  return out;
}

/**
 * rerun: defaults from files fill only what neither the earlier run (restored) nor this command
 * line or environment says, and never a rival of what they say.
 */
export function fillFromFiles(
  merged: Readonly<Record<string, unknown>>,
  fromFiles: ReadonlyMap<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...merged };
  const blocked = (key: string): boolean =>
    key in out ||
    (rowOf(key)?.displaces ?? []).some((d) => d in out) ||
    Object.keys(out).some((k) => (rowOf(k)?.displaces ?? []).includes(key));
  for (const [key, value] of fromFiles) if (!blocked(key)) out[key] = value;
  return out;
}
