// Which reader an inventory source gets. Pure.
// `.ini` is Ansible's INI; `.yml`/`.yaml` Ansible's YAML; a file with no extension (or stdin) is
// Ansible's INI when it holds what only Ansible writes (`[g:children]`, an `ansible_*=` variable),
// else herd's own format, as is any other extension. --inventory-format overrides the guess.
import path from 'node:path';

export type InventoryFormat = 'herd' | 'ansible-ini' | 'ansible-yaml';
export const INVENTORY_FORMATS = ['herd', 'ansible'] as const;
export type InventoryFormatFlag = (typeof INVENTORY_FORMATS)[number];

const ANSIBLE_ONLY = /^\s*\[[^\]\s:]+:children\]|(^|\s)ansible_[A-Za-z0-9_]*=/m;

export function detectFormat(name: string, text: string, flag: InventoryFormatFlag | undefined): InventoryFormat {
  const ext = name === '<stdin>' ? '' : path.extname(name).toLowerCase();
  const yaml = ext === '.yml' || ext === '.yaml';
  if (flag === 'herd') return 'herd';
  if (flag === 'ansible') return yaml ? 'ansible-yaml' : 'ansible-ini';
  if (ext === '.ini') return 'ansible-ini';
  if (yaml) return 'ansible-yaml';
  if (ext === '' && ANSIBLE_ONLY.test(text)) return 'ansible-ini';
  return 'herd';
}
