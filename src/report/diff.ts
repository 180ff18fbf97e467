// Which hosts' output differs from the majority (or from one host), as unified diffs. Pure.
import { createTwoFilesPatch } from 'diff';
import { foldHosts } from './fold.js';

export interface Variant {
  hosts: string[];
  text: string;
}

/** Group hosts by identical text, largest first. */
export function variantsOf(outputs: Map<string, string>): Variant[] {
  const byText = new Map<string, string[]>();
  for (const [host, text] of outputs) {
    // push, not a copy per host: 100,000 hosts with one output took minutes.
    const hosts = byText.get(text);
    if (hosts) hosts.push(host);
    else byText.set(text, [host]);
  }
  return [...byText.entries()]
    .map(([text, hosts]) => ({ text, hosts }))
    .sort((a, b) => b.hosts.length - a.hosts.length);
}

/** --json: one object per variant, the reference first, each other with its unified diff. */
export function diffRecords(outputs: Map<string, string>, against?: string): Record<string, unknown>[] {
  const variants = variantsOf(outputs);
  const reference = against !== undefined ? variants.find((v) => v.hosts.includes(against)) : variants[0];
  if (!reference) return [];
  return variants.map((v) => ({
    kind: 'variant',
    reference: v === reference,
    count: v.hosts.length,
    hosts: v.hosts,
    folded: foldHosts(v.hosts),
    ...(v === reference
      ? { output: v.text }
      : {
          diff: createTwoFilesPatch('reference', 'variant', reference.text, v.text)
            .split('\n')
            .filter((l) => !/^=+$/.test(l))
            .join('\n'),
        }),
  }));
}

/** The report: the reference group, then each other variant with its diff against the reference. */
export function formatDiff(outputs: Map<string, string>, against?: string): { text: string; differs: boolean } {
  const variants = variantsOf(outputs);
  if (variants.length === 0) return { text: 'no host has output to compare\n', differs: false };
  const reference = against !== undefined ? variants.find((v) => v.hosts.includes(against))! : variants[0]!;
  const label = against !== undefined ? `as ${against}` : 'majority';
  const lines = [
    `${label}: ${reference.hosts.length} host${reference.hosts.length === 1 ? '' : 's'}: ${foldHosts(reference.hosts)}`,
  ];
  const others = variants.filter((v) => v !== reference);
  if (others.length === 0) lines.push(`all ${reference.hosts.length} hosts printed the same output`);
  for (const v of others) {
    const name = `${v.hosts.length} host${v.hosts.length === 1 ? '' : 's'}: ${foldHosts(v.hosts)}`;
    lines.push('', `differs: ${name}`);
    const patch = createTwoFilesPatch(label, name, reference.text, v.text, undefined, undefined, { context: 3 });
    // Drop jsdiff's leading '=====' separator and the trailing empty line.
    // A loop, not push(...): a patch of a large output has more lines than a call takes arguments.
    const patchLines = patch
      .split('\n')
      .filter((l) => !/^=+$/.test(l))
      .filter((l, i, all) => !(i === all.length - 1 && l === ''));
    for (const l of patchLines) lines.push(l);
  }
  return { text: lines.join('\n') + '\n', differs: others.length > 0 };
}
