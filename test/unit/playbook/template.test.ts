// The template grammar: `{{ name }}` and the literal `{{ '{{' }}`, nothing else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTemplate, renderTemplate, TemplateError, TemplateSyntaxError } from '../../../src/playbook/template.js';

describe('the template grammar, fuzzed', () => {
  const piece = fc.constantFrom('{{', '}}', '{', '}', ' ', 'host', 'x', "'{{'", '"{{"', '|', '.', '\n', 'a b', '$(id)');
  const text = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
  it('never lets a {{ through that the text did not write as {{ \'{{\' }}; every other {{ is an error at its offset', () => {
    fc.assert(
      fc.property(text, (t) => {
        let out: string;
        try {
          out = renderTemplate(t, { host: 'H' });
        } catch (err) {
          if (err instanceof TemplateSyntaxError) return t.startsWith('{{', err.offset);
          return err instanceof TemplateError;
        }
        const literals = parseTemplate(t).reduce((n, p) => n + (p.kind === 'text' ? p.text.split('{{').length - 1 : 0), 0);
        return out.split('{{').length - 1 === literals && literals === (t.match(/\{\{\s*('\{\{'|"\{\{")\s*\}\}/g) ?? []).length;
      }),
      { numRuns: 2000 },
    );
  });
});
