// `{{ name }}` templating. Pure.
// Every `{{` opens a template, as in Ansible: `{{ name }}` is a variable, `{{ '{{' }}` a literal `{{`,
// anything else (`{{ host | upper }}`, `{{.Names}}`, a lone `{{`) is an error, so nothing that
// looks like a template ever reaches a host unrendered.
import { HerdError } from '../errors.js';

const OPEN = '{{';
const TOKEN_RE = /\{\{\s*(?:([A-Za-z_][A-Za-z0-9_]*)|'\{\{'|"\{\{")\s*\}\}/y;

export interface TemplateVar {
  name: string;
  /** 0-based offset of the `{{` in the text. */
  offset: number;
}

export type TemplatePart = { kind: 'text'; text: string } | ({ kind: 'var' } & TemplateVar);

/** A `{{` that does not open `{{ name }}` or `{{ '{{' }}`. */
export class TemplateSyntaxError extends HerdError {
  constructor(
    /** 0-based offset of the offending `{{`. */
    readonly offset: number,
    found: string,
  ) {
    super(
      'E_TEMPLATE',
      `malformed template ${JSON.stringify(found)}: expected {{ name }} (write {{ '{{' }} for a literal "{{")`,
    );
  }
}

export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  for (let open = text.indexOf(OPEN); open >= 0; open = text.indexOf(OPEN, i)) {
    literal += text.slice(i, open);
    TOKEN_RE.lastIndex = open;
    const m = TOKEN_RE.exec(text);
    if (!m) throw new TemplateSyntaxError(open, text.slice(open, open + 20).split('\n')[0]!);
    if (m[1] === undefined) {
      literal += OPEN;
    } else {
      if (literal !== '') parts.push({ kind: 'text', text: literal });
      literal = '';
      parts.push({ kind: 'var', name: m[1], offset: open });
    }
    i = open + m[0].length;
  }
  literal += text.slice(i);
  if (literal !== '') parts.push({ kind: 'text', text: literal });
  return parts;
}

/** The variables a text uses; throws TemplateSyntaxError on a malformed `{{`. */
export function findTemplateVars(text: string): TemplateVar[] {
  return parseTemplate(text).flatMap((p) => (p.kind === 'var' ? [{ name: p.name, offset: p.offset }] : []));
}

export class TemplateError extends HerdError {
  constructor(name: string) {
    super('E_TEMPLATE', `unknown variable ${JSON.stringify(name)}`);
  }
}

/** A variable whose value herd will not put into a template (e.g. a built-in that is not shell-safe). */
export class RefusedValue {
  constructor(
    /** The variable the refusal started at (a var using it carries the same refusal). */
    readonly origin: string,
    readonly why: string,
  ) {}
}

export class RefusedVariableError extends HerdError {
  constructor(
    name: string,
    readonly refused: RefusedValue,
  ) {
    super(
      'E_TEMPLATE',
      `${name === refused.origin ? '' : `{{ ${name} }} uses `}{{ ${refused.origin} }}: ${refused.why}`,
    );
  }
}

export type TemplateVars = Readonly<Record<string, string | RefusedValue>>;

/** Substitute every variable; `escape` turns a value into text for where it lands (a regex, say). */
export function renderTemplate(text: string, vars: TemplateVars, escape: (value: string) => string = (v) => v): string {
  return parseTemplate(text)
    .map((part) => {
      if (part.kind === 'text') return part.text;
      const value = Object.hasOwn(vars, part.name) ? vars[part.name] : undefined;
      if (value === undefined) throw new TemplateError(part.name);
      if (value instanceof RefusedValue) throw new RefusedVariableError(part.name, value);
      return escape(value);
    })
    .join('');
}
