// The shape of a parsed inventory. Pure data: no I/O here.
import type { Vars } from './vars.js';

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
  /** The host's name in an Ansible inventory when it differs from `host` (`db1 ansible_host=10.0.0.5`). */
  name?: string;
  /** A private key for this host only (ansible_ssh_private_key_file). */
  identityFile?: string;
  /** Resolved variables (group vars < host vars, see vars.ts); absent when there are none. */
  vars?: Vars;
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
  /** Ansible inventories: each group's child groups and own hosts (target ids), for `herd hosts --graph`. */
  tree?: GroupTree;
}

export type GroupTree = Map<string, { children: string[]; hosts: string[] }>;
