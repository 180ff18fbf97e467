// Shared by `herd play` and `herd rerun` of a playbook run: load and check the playbook, pick each
// play's hosts, and build the launch that executes it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PlaybookError, UsageError } from '../errors.js';
import { selectTargets } from '../inventory/index.js';
import type { Target } from '../inventory/types.js';
import {
  checkExtraVars,
  checkHostVars,
  loadPlaybook,
  usedInventoryTexts,
  type HostVarProblem,
} from '../playbook/index.js';
import { foldHosts } from '../report/fold.js';
import { plural } from '../results/words.js';
import type { Playbook } from '../playbook/types.js';
import { executePlaybook, type ResumePoint } from '../engine/play.js';
import type { LaunchRequest } from './launch.js';
import { passwordFromEnv, promptHidden } from './secrets.js';
import { ioReason } from '../io-reason.js';

export interface PlaybookInput {
  file: string;
  text: string;
  sha256: string;
  playbook: Playbook;
}

/** Read and validate a playbook before any host is contacted. */
export function readPlaybook(file: string, extraVars: Record<string, string>): PlaybookInput {
  checkExtraVars(extraVars);
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read playbook ${file}: ${ioReason(err)}`, 'E_PLAYBOOK_READ');
  }
  // Names no built-in, play var or --var gives are the inventory's: checked per host in playbookLaunch.
  const playbook = loadPlaybook(
    { file, text },
    { fileExists: (p) => fs.existsSync(p), extraVars, inventoryVars: true },
  );
  return { file: abs, text, sha256: createHash('sha256').update(text).digest('hex'), playbook };
}

/** `--var k=v` values into a map, naming the bad one. */
export function parseVars(pairs: string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq > 0 ? pair.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new UsageError(
        `-e/--var ${JSON.stringify(pair)}: expected NAME=VALUE with NAME made of letters, digits and _`,
      );
    }
    vars[name] = pair.slice(eq + 1);
  }
  return vars;
}

/** Each play's hosts: its `hosts` pattern applied to the selected inventory. */
export function resolvePlayHosts(
  playbook: Playbook,
  selected: Target[],
): { playHosts: Map<number, string[]>; targets: Target[]; warnings: string[] } {
  const playHosts = new Map<number, string[]>();
  const used = new Set<string>();
  const warnings: string[] = [];
  for (const play of playbook.plays) {
    // -l may already have left out what a play excludes: that is no typo, so only a warning.
    const options = { label: `play ${play.index} (${play.name}) hosts`, unmatchedExclusion: 'warn' } as const;
    const selection =
      play.hosts === 'all'
        ? { targets: selected, unmatched: [] as string[] }
        : selectTargets(selected, play.hosts, (f) => fs.readFileSync(f, 'utf8'), options);
    for (const term of selection.unmatched)
      warnings.push(`play ${play.index} (${play.name}): hosts term ${JSON.stringify(term)} matched no selected host`);
    playHosts.set(
      play.index,
      selection.targets.map((t) => t.id),
    );
    for (const t of selection.targets) used.add(t.id);
  }
  const targets = selected.filter((t) => used.has(t.id));
  if (targets.length === 0) throw new UsageError('no play of the playbook selects any of the selected hosts');
  return { playHosts, targets, warnings };
}

export type BecomeSource = { kind: 'env'; variable: string } | { kind: 'prompt' } | null;

export async function resolveBecomePassword(source: BecomeSource): Promise<string | undefined> {
  if (source === null) return undefined;
  if (source.kind === 'env') return passwordFromEnv(source.variable, '--become-pass-env');
  return promptHidden('sudo password: ', { ask: '--ask-become-pass', env: '--become-pass-env' });
}

/**
 * A template's variable that some hosts of its play cannot give, as the error before any host is contacted.
 * `rerunOf`: a rerun, which renders with the variables that run recorded and never reads the inventory again.
 */
export function hostVarsError(problem: HostVarProblem, rerunOf?: string): PlaybookError {
  const { use, play, hosts, of } = problem;
  const which = `${hosts.length === of ? `all ${plural(of, 'host')}` : `${hosts.length} of ${plural(of, 'host')}`}`;
  const where = `${which} of play ${play.index} (${play.name}): ${foldHosts(hosts)}`;
  switch (problem.kind) {
    case 'missing':
      return new PlaybookError(
        use.position,
        `variable "${use.name}" is not set for ${where}; ` +
          (rerunOf === undefined
            ? `set it in the inventory (herd hosts --vars shows each host's), in the play's vars or with --var`
            : `a rerun renders with the variables run ${rerunOf} recorded and does not read the inventory ` +
              `again (herd play does)`) +
          (problem.known ? `; known: ${problem.known.join(', ')}` : ''),
      );
    case 'unusable':
      return new PlaybookError(use.position, `variable "${use.name}" cannot be used for ${where}: ${problem.why}`);
    case 'builtin_clash':
      return new PlaybookError(
        use.position,
        `{{ ${use.name} }} is herd's built-in "${use.name}", but the inventory also sets "${use.name}" for ${where}; ` +
          `herd will not guess which one is meant: rename the inventory variable`,
      );
    default: {
      const never: never = problem;
      return never;
    }
  }
}

export interface PlaybookLaunchOptions {
  input: PlaybookInput;
  /** The hosts run on, with their inventory variables (restored from the earlier run on a rerun). */
  targets: Target[];
  playHosts: Map<number, string[]>;
  extraVars: Record<string, string>;
  check: boolean;
  becomeSource: BecomeSource;
  resume?: Map<string, ResumePoint>;
  gateReferences?: Map<string, string | null>;
  /** A rerun of this run: its recorded variables are the ones there are. */
  rerunOf?: string;
}

/** The execute/taskRecord part of a launch for a playbook. */
export async function playbookLaunch(
  opts: PlaybookLaunchOptions,
): Promise<Pick<LaunchRequest, 'execute' | 'taskRecord'>> {
  // Before the sudo password is asked and before any host: every template can be rendered on every host.
  const vars = new Map(opts.targets.map((t) => [t.id, t.vars]));
  const problem = checkHostVars(opts.input.playbook, opts.playHosts, (id) => vars.get(id), opts.extraVars);
  if (problem !== null) throw hostVarsError(problem, opts.rerunOf);
  const inventoryVars = new Map(
    opts.targets.map((t) => [t.id, usedInventoryTexts(opts.input.playbook, t.vars)] as const),
  );
  const becomePassword = await resolveBecomePassword(opts.becomeSource);
  return {
    taskRecord: {
      kind: 'playbook',
      file: opts.input.file,
      sha256: opts.input.sha256,
      check: opts.check,
      vars: opts.extraVars,
      become_password_source:
        opts.becomeSource === null
          ? null
          : opts.becomeSource.kind === 'env'
            ? `env:${opts.becomeSource.variable}`
            : 'prompt',
    },
    execute: (run) =>
      executePlaybook(run, {
        playbook: opts.input.playbook,
        playHosts: opts.playHosts,
        extraVars: opts.extraVars,
        inventoryVars,
        check: opts.check,
        becomePassword,
        runId: run.id,
        cwd: process.cwd(),
        resume: opts.resume,
        gateReferences: opts.gateReferences,
      }),
  };
}
