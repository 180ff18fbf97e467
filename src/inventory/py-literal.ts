// The value of an Ansible INI variable, as Ansible reads it: Python's ast.literal_eval when the text
// is a literal (5 -> 5, True -> true, "'q'" -> q), else the text itself. Pure.
// Lists, tuples and dicts are refused rather than guessed at: a YAML inventory writes them plainly.
import type { VarValue } from './vars.js';

export class LiteralError extends Error {}

const DECIMAL = /^[-+]?(0|[1-9](_?[0-9])*|0(_?0)*)$/;
const PREFIXED = /^([-+]?)0([xX](_?[0-9a-fA-F])+|[oO](_?[0-7])+|[bB](_?[01])+)$/;
const FLOAT = /^[-+]?(([0-9](_?[0-9])*)?\.[0-9](_?[0-9])*|[0-9](_?[0-9])*\.?)([eE][-+]?[0-9](_?[0-9])*)?$/;

export function pyLiteral(text: string): VarValue {
  const t = text.trim();
  if (t === 'True') return true;
  if (t === 'False') return false;
  if (t === 'None') return null;
  if (DECIMAL.test(t)) return Number(t.replace(/_/g, ''));
  const prefixed = PREFIXED.exec(t);
  if (prefixed) {
    const n = Number(BigInt(t.slice(prefixed[1]!.length).replace(/_/g, '').toLowerCase().replace(/^0o/, '0o')));
    return prefixed[1] === '-' ? -n : n;
  }
  if (FLOAT.test(t) && /[.eE]/.test(t)) return Number(t.replace(/_/g, ''));
  const quoted = /^(['"])(.*)\1$/s.exec(t);
  if (quoted && !quoted[2]!.includes(quoted[1]!)) {
    if (quoted[2]!.includes('\\'))
      throw new LiteralError(`escapes inside the quoted literal ${t} are not supported; write the value plainly`);
    return quoted[2]!;
  }
  if (/^[[({]/.test(t))
    throw new LiteralError(`${t} looks like a Python list, tuple or dict; herd reads those only from YAML inventories`);
  return text;
}
