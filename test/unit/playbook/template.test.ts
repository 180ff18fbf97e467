// The template grammar: `{{ name }}` and the literal `{{ '{{' }}`, nothing else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  findTemplateVars,
  parseTemplate,
  RefusedValue,
  RefusedVariableError,
  renderTemplate,
  TemplateError,
  TemplateSyntaxError,
} from '../../../src/playbook/template.js';

describe('the template grammar, fuzzed', () => {
  const piece = fc.constantFrom('{{', '}}', '{', '}', ' ', 'host', 'x', "'{{'", '"{{"', '|', '.', '\n', 'a b', '$(id)');
  const text = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
  it("never lets a {{ through that the text did not write as {{ '{{' }}; every other {{ is an error at its offset", () => {
    fc.assert(
      fc.property(text, (t) => {
        let out: string;
        try {
          out = renderTemplate(t, { host: 'H' });
        } catch (err) {
          if (err instanceof TemplateSyntaxError) return t.startsWith('{{', err.offset);
          return err instanceof TemplateError;
        }
        const literals = parseTemplate(t).reduce(
          (n, p) => n + (p.kind === 'text' ? p.text.split('{{').length - 1 : 0),
          0,
        );
        return (
          out.split('{{').length - 1 === literals &&
          literals === (t.match(/\{\{\s*('\{\{'|"\{\{")\s*\}\}/g) ?? []).length
        );
      }),
      { numRuns: 2000 },
    );
  });
});

describe('rendering', () => {
  it('substitutes each value once: a value that looks like a template reaches the host as it is', () => {
    expect(renderTemplate('echo {{ a }}', { a: '{{ b }}', b: 'no' })).toBe('echo {{ b }}');
    expect(renderTemplate('{{a}}{{   a   }}', { a: 'x' })).toBe('xx');
  });

  it('knows only the variables given, never an Object.prototype member', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(() => renderTemplate(`{{ ${name} }}`, {})).toThrow(new TemplateError(name));
    }
    expect(renderTemplate('{{ constructor }}', { constructor: 'c' })).toBe('c');
  });

  it('escapes the values only, never the text around them', () => {
    const escaped = renderTemplate('^{{ v }}.$', { v: '1.2' }, (s) => s.replace(/\./g, '\\.'));
    expect(escaped).toBe('^1\\.2.$');
  });

  it('a refused value is an error only where it is used, naming the variable it came through', () => {
    const vars = { host: new RefusedValue('host', 'not plain'), d: new RefusedValue('host', 'not plain'), ok: 'y' };
    expect(renderTemplate('{{ ok }}', vars)).toBe('y');
    expect(() => renderTemplate('{{ host }}', vars)).toThrow(/^\{\{ host \}\}: not plain$/);
    expect(() => renderTemplate('{{ d }}', vars)).toThrow(/^\{\{ d \}\} uses \{\{ host \}\}: not plain$/);
    expect(() => renderTemplate('{{ d }}', vars)).toThrow(RefusedVariableError);
  });
});

describe('parsing', () => {
  it('finds each variable with the offset of its {{, and folds literal {{ into the text', () => {
    expect(findTemplateVars("a {{ x }} {{ '{{' }} {{y}}")).toEqual([
      { name: 'x', offset: 2 },
      { name: 'y', offset: 21 },
    ]);
    expect(parseTemplate(`{{ "{{" }}x{{ '{{' }}`)).toEqual([{ kind: 'text', text: '{{x{{' }]);
    expect(parseTemplate('no braces } { }}')).toEqual([{ kind: 'text', text: 'no braces } { }}' }]);
    expect(parseTemplate('')).toEqual([]);
  });

  it('refuses a malformed {{ with E_TEMPLATE, its offset, and a one-line excerpt of at most 20 characters', () => {
    const text = `ok {{ a }} then {{ a b }}\n{{ hidden }} ${'z'.repeat(40)}`;
    let error: unknown;
    try {
      parseTemplate(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TemplateSyntaxError);
    const e = error as TemplateSyntaxError;
    expect(e.code).toBe('E_TEMPLATE');
    expect(e.offset).toBe(16);
    expect(e.message).toBe(`malformed template "{{ a b }}": expected {{ name }} (write {{ '{{' }} for a literal "{{")`);
    expect(() => parseTemplate(`{{ ${'x'.repeat(30)}`)).toThrow(`malformed template "{{ ${'x'.repeat(17)}"`);
  });

  it.each(['{{ 1x }}', '{{ a-b }}', '{{ host.name }}', "{{ '{' }}", '{{}}', '{{ $(id) }}'])('refuses %j', (t) => {
    expect(() => parseTemplate(t)).toThrow(TemplateSyntaxError);
  });
});
