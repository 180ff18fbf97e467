// The consensus gate's verdict as people read it: each distinct output with its hosts, folded.
import { foldHosts } from './fold.js';

export interface ConsensusView {
  play: number;
  step: number;
  name: string;
  groups: { output: string; hosts: string[] }[];
  majority: string | null;
}

/** Pure: the note printed when a gate holds hosts back (the first 10 lines of each output). */
export function formatConsensus(v: ConsensusView): string {
  const lines = [`herd: consensus at step ${v.play}.${v.step} (${v.name}): ${v.groups.length} distinct outputs`];
  for (const g of v.groups) {
    const mark = g.output === v.majority ? 'majority' : 'HELD BACK';
    lines.push(`  [${mark}] ${g.hosts.length} host${g.hosts.length === 1 ? '' : 's'}: ${foldHosts(g.hosts)}`);
    for (const l of g.output.split('\n').slice(0, 10)) lines.push(`      | ${l}`);
  }
  return lines.join('\n');
}
