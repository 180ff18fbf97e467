// The HTML report's escaping: hostile text a host wrote stays text in the page and in its embedded JSON.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, jsonForScript } from '../../../../src/report/html/escape.js';

const EVIL = '</script><script>alert(1)</script><img src=x onerror=alert(2)><!--\u2028"\'&';

describe('jsonForScript', () => {
  it('never holds <, > or &, nor U+2028/9, and parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (v, s) => {
        for (const value of [v, s, [s, EVIL]]) {
          const text = jsonForScript(value);
          expect(text).not.toMatch(/[<>&\u2028\u2029]/);
          expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        }
      }),
    );
  });
});

describe('escapeHtml', () => {
  it('leaves no markup character', () => {
    expect(escapeHtml(EVIL)).not.toMatch(/[<>"']/);
    expect(escapeHtml('a&b')).toBe('a&amp;b');
  });
});
