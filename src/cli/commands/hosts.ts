// herd hosts: print the selected hosts, one per line, exactly as a run would target them.
import { loadInventory } from '../load-inventory.js';
import type { RawOptions } from '../options.js';

export function hostsCommand(raw: RawOptions): number {
  const inventory = loadInventory(raw.inventory ?? [], raw.limit);
  for (const w of inventory.warnings) process.stderr.write(`herd: warning: ${w}\n`);
  process.stdout.write(inventory.targets.map((t) => t.id + '\n').join(''));
  return 0;
}
