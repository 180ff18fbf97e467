// Shared by `herd play` and `herd rerun` of a playbook run: load and check the playbook, pick each
// play's hosts, and build the launch that executes it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { selectTargets } from '../inventory/index.js';
import type { Target } from '../inventory/types.js';
import { checkExtraVars, loadPlaybook } from '../playbook/index.js';
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
  const playbook = loadPlaybook({ file, text }, { fileExists: (p) => fs.existsSync(p), extraVars });
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

export interface PlaybookLaunchOptions {
  input: PlaybookInput;
  playHosts: Map<number, string[]>;
  extraVars: Record<string, string>;
  check: boolean;
  becomeSource: BecomeSource;
  resume?: Map<string, ResumePoint>;
  gateReferences?: Map<string, string | null>;
}

/** The execute/taskRecord part of a launch for a playbook. */
export async function playbookLaunch(
  opts: PlaybookLaunchOptions,
): Promise<Pick<LaunchRequest, 'execute' | 'taskRecord'>> {
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
        check: opts.check,
        becomePassword,
        runId: run.id,
        cwd: process.cwd(),
        resume: opts.resume,
        gateReferences: opts.gateReferences,
      }),
  };
}
