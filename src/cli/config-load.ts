// Finds and reads the configuration files, and lays their settings and HERD_* variables under a
// command's flags. Precedence: command line > HERD_* > herd.yml > ~/.config/herd/config.yml > built-in.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { ioReason } from '../io-reason.js';
import { writeText } from '../report/terminal-safe.js';
import {
  CONFIGURABLE,
  envNotSettings,
  mergeLayers,
  parseConfigFile,
  parseEnv,
  type ConfigurableKey,
  type Layer,
  type Setting,
} from './config-file.js';
import { COMMAND_OPTIONS, type CommandName, type OptionKey } from './option-table.js';

export const PROJECT_FILE = 'herd.yml';

/**
 * herd.yml in the current directory or the nearest parent. The walk stops at the root of the
 * repository the directory is in (the first parent holding .git): a herd.yml above a checkout
 * belongs to no one in it, and an unrelated one there must not steer a run. Outside a repository it
 * stops at the filesystem root.
 */
export function findProjectFile(cwd: string): string | null {
  let dir = path.resolve(cwd);
  for (;;) {
    const candidate = path.join(dir, PROJECT_FILE);
    if (isFile(candidate)) return candidate;
    if (fs.existsSync(path.join(dir, '.git'))) return null;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * $XDG_CONFIG_HOME/herd/config.yml (only an absolute XDG_CONFIG_HOME counts, as the spec says), else
 * ~/.config/herd/config.yml.
 */
export function userConfigFile(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.config');
  return path.join(base, 'herd', 'config.yml');
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function display(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

/**
 * A file that can point herd at other hosts, keys and known_hosts is trusted as OpenSSH trusts
 * ~/.ssh/config (readconf.c, secure_permissions): owned by you or root, not writable by others.
 * Otherwise anyone could plant /tmp/herd.yml for a root shell that runs herd under /tmp. Unlike
 * OpenSSH, a group-writable file is read: a team repository on a shared controller is often
 * group-writable on purpose, and that group is the team.
 */
function refuseUntrusted(file: string, cwd: string, uid: number): void {
  const st = fs.statSync(file);
  const badOwner = st.uid !== 0 && st.uid !== uid;
  if (badOwner || (st.mode & 0o002) !== 0) {
    const why = badOwner ? `owned by uid ${st.uid}` : 'writable by others';
    throw new UsageError(
      `bad owner or permissions on ${display(file, cwd)} (${why}): it must be yours or root's, not writable by others`,
    );
  }
}

function readLayer(file: string, cwd: string, home: string): Layer {
  let text: string;
  try {
    refuseUntrusted(file, cwd, process.getuid?.() ?? 0);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${display(file, cwd)}: ${ioReason(err)}`);
  }
  return parseConfigFile({ path: file, display: display(file, cwd), text }, home);
}

export interface Effective {
  /** The configuration files read, lowest precedence first (absolute paths). */
  files: string[];
  /** Every configurable option's winning setting from files and HERD_* (the command line is not in it). */
  settings: Map<ConfigurableKey, Setting>;
  /** HERD_* variables that look like a misspelt setting. */
  warnings: string[];
}

/** Read the files and the environment; the command line's options (given) win over them. */
export function loadConfig(
  given: ReadonlySet<OptionKey>,
  cwd = process.cwd(),
  env = process.env,
  home = os.homedir(),
): Effective {
  const files = [userConfigFile(env, home), findProjectFile(cwd)].filter((f): f is string => f !== null && isFile(f));
  const layers = files.map((f) => readLayer(f, cwd, home));
  return { files, settings: mergeLayers([...layers, parseEnv(env, home)], given), warnings: envNotSettings(env) };
}

let current: Effective | null = null;

/** What the running command's options were laid over (applyConfig ran before its action). */
export function currentConfig(): Effective {
  if (current === null) throw new Error('configuration not loaded before the action');
  return current;
}

/** The configuration files the running command read (run.json's config_files). */
export function configFilesRead(): string[] {
  return current?.files ?? [];
}

/**
 * Before a command's action: every option it takes that its command line did not give gets its
 * value from HERD_* or a file, recorded as commander's value source 'env' or 'config' (rerun tells
 * them apart: a variable counts as given, a file only fills what the earlier run did not record).
 */
export function applyConfig(cmd: Command, command: CommandName): Effective {
  const given = new Set(CONFIGURABLE.filter((k) => cmd.getOptionValueSource(k) === 'cli'));
  const effective = loadConfig(given);
  for (const key of COMMAND_OPTIONS[command]) {
    const s = effective.settings.get(key as ConfigurableKey);
    if (s === undefined) continue;
    cmd.setOptionValueWithSource(key, s.value, s.origin.kind === 'env' ? 'env' : 'config');
  }
  // herd report names its run directory --runs-dir (its -o is the HTML file): a file's out: is that directory.
  const out = effective.settings.get('out');
  if (command === 'report' && out !== undefined && cmd.getOptionValueSource('runsDir') !== 'cli') {
    cmd.setOptionValueWithSource('runsDir', out.value, out.origin.kind === 'env' ? 'env' : 'config');
  }
  for (const w of effective.warnings) writeText(process.stderr, `herd: warning: ${w}\n`);
  current = effective;
  return effective;
}
