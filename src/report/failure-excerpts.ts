// The stderr excerpts of a run's failed hosts, read from its directory (bounded) and masked per host.
import type { HostResult } from '../results/status.js';
import { failureStderrHeads } from '../results/output-head.js';
import { excerptOf, hostMasks } from './excerpt.js';
import type { HostExcerpt } from './summary.js';

export function failureExcerpts(dir: string, results: HostResult[]): Map<string, HostExcerpt> {
  const excerpts = new Map<string, HostExcerpt>();
  for (const [id, { head, file }] of failureStderrHeads(dir, results)) {
    const excerpt = excerptOf(head, hostMasks(id));
    if (excerpt !== null) excerpts.set(id, { excerpt, file });
  }
  return excerpts;
}
