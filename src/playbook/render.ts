// Per-host rendering of a play's steps. Pure.
import { RefusedValue, RefusedVariableError, renderTemplate, type TemplateVars } from './template.js';
import type { Play, Step } from './types.js';

export interface Builtins {
  host: string;
  port: string;
  user: string;
  run_id: string;
}

// Built-ins go into shell text unquoted, and `host` and `user` may come from ssh_config (HostName,
// User), -u or the local account rather than the inventory's grammar: only values that are plain
// words to /bin/sh (and cannot turn a path into `..` or an option) are let through.
const SAFE_BUILTIN: Record<keyof Builtins, RegExp> = {
  host: /^[A-Za-z0-9_:][A-Za-z0-9_.:%-]*$/,
  port: /^[0-9]+$/,
  user: /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/,
  run_id: /^[A-Za-z0-9][A-Za-z0-9.-]*$/,
};

const WHAT: Record<keyof Builtins, string> = {
  host: 'host name or address (from ssh_config HostName?)',
  port: 'port',
  user: 'user name (from ssh_config User, -u or the local account?)',
  run_id: 'run id',
};

/** Each built-in, or a refusal naming why it is not shell-safe (only an error if a template uses it). */
export function builtinVars(builtins: Builtins): Record<string, string | RefusedValue> {
  const out: Record<string, string | RefusedValue> = {};
  for (const name of Object.keys(SAFE_BUILTIN) as (keyof Builtins)[]) {
    const value = builtins[name];
    out[name] = SAFE_BUILTIN[name].test(value)
      ? value
      : new RefusedValue(
          name,
          `${JSON.stringify(value)} is not a plain ${WHAT[name]}; built-ins go into shell text unquoted, so herd refuses it`,
        );
  }
  return out;
}

/** Render a value, keeping a refusal (rather than throwing) so only its use is an error. */
function renderLazily(text: string, vars: TemplateVars): string | RefusedValue {
  try {
    return renderTemplate(text, vars);
  } catch (err) {
    if (err instanceof RefusedVariableError) return err.refused;
    throw err;
  }
}

/**
 * A host's variables. Order, so there is never a cycle: built-ins; then inventory values and --var values, each
 * rendered with built-ins only; then play vars, rendered with all of those. Precedence, lowest first: built-ins,
 * inventory variables (group < host, resolved by inventory/vars.ts), play vars, --var. A built-in's name set in an
 * inventory never shadows the built-in here: checkHostVars refuses a template using it before any host.
 */
export function hostVars(
  play: Play,
  extraVars: Record<string, string>,
  builtins: Builtins,
  inventory: Record<string, string> = {},
): TemplateVars {
  const base = builtinVars(builtins);
  const lower = (values: Record<string, string>) => {
    const out: Record<string, string | RefusedValue> = {};
    for (const [k, v] of Object.entries(values)) if (!Object.hasOwn(base, k)) out[k] = renderLazily(v, base);
    return out;
  };
  const fromInventory = lower(inventory);
  const extra = lower(extraVars);
  const withExtra = { ...base, ...fromInventory, ...extra };
  const vars: Record<string, string | RefusedValue> = { ...base, ...fromInventory };
  for (const [k, v] of Object.entries(play.vars)) vars[k] = renderLazily(v, withExtra);
  return { ...vars, ...extra };
}

/** A value placed in a regular expression matches itself literally. */
export function regexEscape(value: string): string {
  return value.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

const opt = (text: string | undefined, vars: TemplateVars, escape?: (v: string) => string): string | undefined =>
  text === undefined ? undefined : renderTemplate(text, vars, escape);

export function renderStep(step: Step, vars: TemplateVars): Step {
  const common = {
    ...step,
    when: opt(step.when, vars),
    unless: opt(step.unless, vars),
    creates: opt(step.creates, vars),
    removes: opt(step.removes, vars),
    expect: step.expect && { ...step.expect, stdout: opt(step.expect.stdout, vars, regexEscape) },
  };
  for (const k of ['when', 'unless', 'creates', 'removes'] as const) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- k ranges over four field names, not data
    if (common[k] === undefined) delete common[k];
  }
  if (common.expect && common.expect.stdout === undefined) delete common.expect.stdout;
  switch (step.kind) {
    case 'run':
      return { ...common, kind: 'run', run: renderTemplate(step.run, vars) } as Step;
    case 'script':
      return {
        ...common,
        kind: 'script',
        script: step.script,
        ...(step.args !== undefined ? { args: renderTemplate(step.args, vars) } : {}),
      } as Step;
    case 'push':
    case 'pull':
      return {
        ...common,
        kind: step.kind,
        src: renderTemplate(step.src, vars),
        dest: renderTemplate(step.dest, vars),
      } as Step;
  }
}
