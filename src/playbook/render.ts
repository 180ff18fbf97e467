// Per-host rendering of a play's steps. Pure.
import { renderTemplate } from './template.js';
import type { Play, Step } from './types.js';

export interface Builtins {
  host: string;
  port: string;
  user: string;
  run_id: string;
}

/**
 * A host's variables. Order, so there is never a cycle: built-ins; then --var values, rendered with
 * built-ins only; then play vars, rendered with built-ins and --var values. --var wins over play vars.
 */
export function hostVars(play: Play, extraVars: Record<string, string>, builtins: Builtins): Record<string, string> {
  const base: Record<string, string> = { ...builtins };
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(extraVars)) extra[k] = renderTemplate(v, base);
  const withExtra = { ...base, ...extra };
  const vars: Record<string, string> = { ...base };
  for (const [k, v] of Object.entries(play.vars)) vars[k] = renderTemplate(v, withExtra);
  return { ...vars, ...extra };
}

const opt = (text: string | undefined, vars: Record<string, string>): string | undefined => (text === undefined ? undefined : renderTemplate(text, vars));

export function renderStep(step: Step, vars: Record<string, string>): Step {
  const common = {
    ...step,
    when: opt(step.when, vars),
    unless: opt(step.unless, vars),
    creates: opt(step.creates, vars),
    removes: opt(step.removes, vars),
    expect: step.expect && { ...step.expect, stdout: opt(step.expect.stdout, vars) },
  };
  for (const k of ['when', 'unless', 'creates', 'removes'] as const) if (common[k] === undefined) delete common[k];
  if (common.expect && common.expect.stdout === undefined) delete common.expect.stdout;
  switch (step.kind) {
    case 'run':
      return { ...common, kind: 'run', run: renderTemplate(step.run, vars) } as Step;
    case 'script':
      return { ...common, kind: 'script', script: step.script, ...(step.args !== undefined ? { args: renderTemplate(step.args, vars) } : {}) } as Step;
    case 'push':
    case 'pull':
      return { ...common, kind: step.kind, src: renderTemplate(step.src, vars), dest: renderTemplate(step.dest, vars) } as Step;
  }
}
