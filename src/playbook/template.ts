// `{{ name }}` templating. Pure.
import { HerdError } from '../errors.js';

const VAR_RE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export interface TemplateVar {
  name: string;
  /** 0-based offset of the `{{` in the text. */
  offset: number;
}

export function findTemplateVars(text: string): TemplateVar[] {
  return [...text.matchAll(VAR_RE)].map((m) => ({ name: m[1]!, offset: m.index ?? 0 }));
}

export class TemplateError extends HerdError {
  constructor(name: string) {
    super('E_TEMPLATE', `unknown variable ${JSON.stringify(name)}`);
  }
}

export function renderTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(VAR_RE, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new TemplateError(name);
    return value;
  });
}
