// Read inventory sources (files or stdin) and select hosts; all checking happens before any host is contacted.
import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { readInventories, selectTargets } from '../inventory/index.js';
import type { InventoryFormatFlag } from '../inventory/format.js';
import type { GroupTree, InventorySource, Target } from '../inventory/types.js';
import { ioReason } from '../io-reason.js';

export interface LoadedInventory {
  targets: Target[];
  warnings: string[];
  /** Ansible inventories' group tree (herd hosts --graph). */
  tree?: GroupTree;
}

function readSource(name: string): InventorySource {
  try {
    return { name: name === '-' ? '<stdin>' : name, text: fs.readFileSync(name === '-' ? 0 : name, 'utf8') };
  } catch (err) {
    throw new UsageError(`cannot read inventory ${name}: ${ioReason(err)}`, 'E_INVENTORY_READ');
  }
}

/**
 * The spelling of the limit flag the user typed last (`-l`, `-lweb`, `--limit`, `--limit=web`), so messages name it.
 */
export function limitFlagTyped(argv: readonly string[]): string {
  let typed = '--limit';
  for (const arg of argv) {
    if (arg === '--') break;
    if (arg === '--limit' || arg.startsWith('--limit=')) typed = '--limit';
    else if (arg.startsWith('-l') && !arg.startsWith('--')) typed = '-l';
  }
  return typed;
}

export function loadInventory(
  files: string[],
  limit: string | undefined,
  flag = limitFlagTyped(process.argv.slice(2)),
  format?: InventoryFormatFlag,
): LoadedInventory {
  if (files.length === 0) throw new UsageError('no inventory: give -i FILE (repeatable; -i - reads stdin)');
  if (files.filter((f) => f === '-').length > 1) throw new UsageError('-i -: stdin can be read only once');
  const parsed = readInventories(files.map(readSource), format);
  const warnings = [...parsed.warnings];
  let targets = parsed.targets;
  if (limit !== undefined) {
    const selection = selectTargets(targets, limit, (file) => fs.readFileSync(file === '-' ? 0 : file, 'utf8'), {
      label: flag,
      unmatchedExclusion: 'error',
    });
    targets = selection.targets;
    for (const term of selection.unmatched) warnings.push(`${flag} term ${JSON.stringify(term)} matched no host`);
  }
  if (targets.length === 0)
    throw new UsageError(limit !== undefined ? `${flag} ${limit}: no host selected` : 'the inventory holds no host');
  return { targets, warnings, ...(parsed.tree ? { tree: parsed.tree } : {}) };
}
