// Values that may use the built-ins only (-e/--var values, herd push/pull paths), checked before
// any host is contacted. Pure.
// --var values are rendered per host like play vars, but with the built-ins only: play vars may
// use --var values, so letting --var use play vars (or each other) would allow cycles.
import { UsageError } from '../errors.js';
import { BUILTIN_VARS } from './load.js';
import { findTemplateVars, TemplateSyntaxError } from './template.js';

const BUILTINS: readonly string[] = BUILTIN_VARS;

/** Why `value` is not a template of built-ins only (`what` names it: "a --var value"), or null. */
export function builtinsOnlyProblem(value: string, what: string): string | null {
  try {
    const unknown = findTemplateVars(value).find((v) => !BUILTINS.includes(v.name));
    if (!unknown) return null;
    return `unknown variable "${unknown.name}"; ${what} may use only the built-ins ${[...BUILTINS].sort().join(', ')}`;
  } catch (err) {
    if (err instanceof TemplateSyntaxError) return err.message;
    throw err;
  }
}

export function checkExtraVars(vars: Record<string, string>): void {
  for (const [name, value] of Object.entries(vars)) {
    const where = `-e/--var ${name}=${value}`;
    if (BUILTINS.includes(name)) {
      throw new UsageError(`${where}: "${name}" is a built-in variable and cannot be set`, 'E_TEMPLATE');
    }
    const problem = builtinsOnlyProblem(value, 'a --var value');
    if (problem !== null) throw new UsageError(`${where}: ${problem}`, 'E_TEMPLATE');
  }
}
