// The shape of a parsed inventory. Pure data: no I/O here.

/** One selectable host as written in an inventory, after range expansion. */
export interface Target {
  /** Canonical text form `[user@]host[:port]` (IPv6 bracketed when a port is given); unique per run. */
  id: string;
  /** Address or hostname to connect to (IPv6 without brackets). */
  host: string;
  port?: number;
  user?: string;
  /** Group names this host belongs to, in the order they were first seen. */
  groups: string[];
}

/** One inventory source: a file path, or `-` for stdin, with its text. */
export interface InventorySource {
  name: string;
  text: string;
}

export interface ParsedInventory {
  /** Hosts in first-seen order; duplicates collapsed. */
  targets: Target[];
  /** Human-readable warnings (duplicates collapsed, etc.). */
  warnings: string[];
}
