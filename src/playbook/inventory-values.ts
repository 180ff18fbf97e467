// Inventory variable values as template text: the text Ansible's templating gives a scalar. Pure.
// Ansible renders True/False capitalised and floats as Python's repr (1e-05, 1e+16); herd does the
// same so a playbook moved from Ansible puts the same words into the shell. Lists and mappings have
// no one text form, and None renders empty in Ansible: both are refused where a template uses them.
import type { VarValue } from '../inventory/vars.js';

export type TemplateText = { ok: true; text: string } | { ok: false; why: string };

/** Python's repr of a float: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const fixed = x.toFixed(Math.max(0, (mantissa.split('.')[1]?.length ?? 0) - e));
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

export function templateText(value: VarValue): TemplateText {
  if (typeof value === 'string') return { ok: true, text: value };
  if (typeof value === 'boolean') return { ok: true, text: value ? 'True' : 'False' };
  if (value === null)
    return { ok: false, why: 'its value is None (null), which Ansible renders as empty text; give it a value' };
  if (Array.isArray(value))
    return { ok: false, why: 'its value is a list; a template takes text, a number or a boolean' };
  if (typeof value === 'object')
    return { ok: false, why: 'its value is a mapping; a template takes text, a number or a boolean' };
  if (Number.isInteger(value)) {
    // Beyond 2^53 the number read is no longer the one written: its digits would not be the inventory's.
    if (!Number.isSafeInteger(value))
      return { ok: false, why: `${value} is too large to render exactly; quote it in the inventory` };
    return { ok: true, text: String(value) };
  }
  return { ok: true, text: pythonFloatRepr(value) };
}
