// The stderr excerpts of a run's failed hosts, read from its directory (bounded) and masked per host.
import path from 'node:path';
import type { HostResult } from '../results/status.js';
import { failureStderrHeads, readHead, stderrPath } from '../results/output-head.js';
import { excerptKey, isFailureStep, type RecapStep } from './play-recap.js';
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

/** The stderr excerpts of the steps that failed on a host, keyed by `excerptKey(host, play.step)`. */
export function stepFailureExcerpts(dir: string, steps: RecapStep[]): Map<string, HostExcerpt> {
  const excerpts = new Map<string, HostExcerpt>();
  for (const r of steps) {
    if (!isFailureStep(r.status)) continue;
    const key = `${r.play}.${r.step}`;
    const file = stderrPath({ id: r.host, step: key });
    const head = readHead(path.join(dir, file));
    if (head === null || head.bytes === 0) continue;
    const excerpt = excerptOf(head, hostMasks(r.host));
    if (excerpt !== null) excerpts.set(excerptKey(r.host, key), { excerpt, file });
  }
  return excerpts;
}
