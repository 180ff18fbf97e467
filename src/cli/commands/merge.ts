// herd merge: the shard run directories of one logical run into one ordinary run directory.
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_OUT_DIR } from '../../defaults.js';
import { readShardInputs } from '../../results/merge-input.js';
import { mergeShards, noResultReason } from '../../results/merge.js';
import { newRunId } from '../../results/run-id.js';
import { replaceSymlink } from '../../results/atomic.js';
import { plural } from '../../results/words.js';
import { formatCounts } from '../../report/summary.js';
import { writeText } from '../../report/terminal-safe.js';
import { EXIT_HOSTS_FAILED, EXIT_OK } from '../exit-codes.js';
import { localUser } from '../options.js';
import { herdVersion } from '../version.js';

export interface MergeRaw {
  out?: string;
}

/** Exit 0 when every host of the logical run ended ok, 1 otherwise (a missing shard's hosts are not_started). */
export function mergeCommand(dirs: string[], raw: MergeRaw): number {
  const { shards, run } = readShardInputs(dirs);
  // -o names the merged run directory; without it, a new run in ./runs that `latest` then points at.
  const runsDir = path.resolve(DEFAULT_OUT_DIR);
  const dir = raw.out !== undefined ? path.resolve(raw.out) : path.join(runsDir, newRunId());
  const outcome = mergeShards(shards, run, {
    dir,
    controller: os.hostname(),
    user: localUser(),
    cwd: process.cwd(),
    argv: process.argv.slice(2),
    herdVersion: herdVersion(),
    now: new Date(),
  });
  if (raw.out === undefined) replaceSymlink(path.basename(dir), path.join(runsDir, 'latest'));
  const lines: string[] = [];
  const owned = new Map(outcome.record.merged!.shards.map((s) => [s.index, s.hosts]));
  for (const k of outcome.missing)
    lines.push(
      `herd: shard ${k}/${run.count}: no directory given; its ${plural(owned.get(k) ?? 0, 'host')} ` +
        `are not_started (${noResultReason(k, run.count)})`,
    );
  for (const k of outcome.partial)
    lines.push(
      `herd: shard ${k}/${run.count} did not finish: the hosts it did not run are not_started ` +
        `(${noResultReason(k, run.count)})`,
    );
  lines.push(
    `merged ${plural(shards.length, 'shard')} of ${run.count} (run group ${run.runGroup})`,
    formatCounts(outcome.record.hosts_total, outcome.record.counts),
    `results: ${outcome.dir}`,
  );
  writeText(process.stderr, lines.join('\n') + '\n');
  return Object.keys(outcome.record.counts).every((s) => s === 'ok') ? EXIT_OK : EXIT_HOSTS_FAILED;
}
