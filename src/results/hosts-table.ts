// hosts.tsv as the writer rewrites it while a run goes on: one formatted line per host, in inventory order, kept
// between rewrites so a rewrite joins lines and formats none (only the host that changed is formatted again).
import { HOSTS_TSV_HEADER, hostRow, tsvField } from './tsv.js';
import type { HostResult } from './status.js';

/** A host that has not ended yet shows one of these in a hosts.tsv of an unfinished run. */
export type PendingStatus = 'queued' | 'connecting' | 'running';

const HEADER_LINE = HOSTS_TSV_HEADER.join('\t');

export class HostsTable {
  /** Each host's line of hosts.tsv, in inventory order. */
  private readonly lines: string[];
  /** Where each host's line is: hosts are looked up by id as their events arrive. */
  private readonly index = new Map<string, number>();

  constructor(order: readonly string[]) {
    this.lines = order.map((id, i) => {
      this.index.set(id, i);
      return pendingLine(id, 'queued');
    });
  }

  pending(id: string, status: PendingStatus): void {
    const i = this.index.get(id);
    if (i !== undefined) this.lines[i] = pendingLine(id, status);
  }

  done(result: HostResult): void {
    const i = this.index.get(result.id);
    if (i !== undefined) this.lines[i] = hostRow(result).map(tsvField).join('\t');
  }

  /** The whole file, as formatTsv(HOSTS_TSV_HEADER, rows) would write it. */
  render(): string {
    return this.lines.length === 0 ? HEADER_LINE + '\n' : `${HEADER_LINE}\n${this.lines.join('\n')}\n`;
  }
}

/** join makes one flat string: a template literal leaves a tree of pieces, ~130 bytes a host instead of ~50. */
function pendingLine(id: string, status: PendingStatus): string {
  return [tsvField(id), status, '-', '-', '-', '-'].join('\t');
}
