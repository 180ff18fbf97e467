// -e/--var values, checked before any host is contacted. Pure.
// They are rendered per host like play vars, but with the built-ins only: play vars may use
// --var values, so letting --var use play vars (or each other) would allow cycles.
import { UsageError } from '../errors.js';
import { BUILTIN_VARS } from './load.js';
import { findTemplateVars, TemplateSyntaxError } from './template.js';

export function checkExtraVars(vars: Record<string, string>): void {
  for (const [name, value] of Object.entries(vars)) {
    const where = `-e/--var ${name}=${value}`;
    if ((BUILTIN_VARS as readonly string[]).includes(name)) throw new UsageError(`${where}: "${name}" is a built-in variable and cannot be set`, 'E_TEMPLATE');
    let used;
    try {
      used = findTemplateVars(value);
    } catch (err) {
      if (err instanceof TemplateSyntaxError) throw new UsageError(`${where}: ${err.message}`, 'E_TEMPLATE');
      throw err;
    }
    const unknown = used.find((v) => !(BUILTIN_VARS as readonly string[]).includes(v.name));
    if (unknown) {
      throw new UsageError(`${where}: unknown variable "${unknown.name}"; a --var value may use only the built-ins ${[...BUILTIN_VARS].sort().join(', ')}`, 'E_TEMPLATE');
    }
  }
}
