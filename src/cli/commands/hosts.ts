// herd hosts: print the selected hosts, one per line, exactly as a run would target them.
import { loadInventory } from '../load-inventory.js';
import type { RawOptions } from '../options.js';
import { writeText } from '../../report/terminal-safe.js';

export function hostsCommand(raw: RawOptions): number {
  const inventory = loadInventory(raw.inventory ?? [], raw.limit);
  for (const w of inventory.warnings) writeText(process.stderr, `herd: warning: ${w}\n`);
  if (raw.json) {
    const line = (t: (typeof inventory.targets)[number]) =>
      JSON.stringify({
        kind: 'host',
        id: t.id,
        host: t.host,
        port: t.port ?? null,
        user: t.user ?? null,
        groups: t.groups,
      });
    process.stdout.write(inventory.targets.map((t) => line(t) + '\n').join(''));
    return 0;
  }
  process.stdout.write(inventory.targets.map((t) => t.id + '\n').join(''));
  return 0;
}
