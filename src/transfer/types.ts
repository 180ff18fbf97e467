// What a transfer is asked to do and what it reports, shared by push, pull and their callers.

export interface TransferSummary {
  files: number;
  skipped: number;
  dirs: number;
  bytes: number;
  /** Pull: host entries named like herd's temporary files, never recreated. */
  tempNamed: number;
  /** Push: existing directories the login user may not set times on (owned by another user). */
  dirTimesDenied: number;
}

export const emptySummary = (): TransferSummary => ({
  files: 0,
  skipped: 0,
  dirs: 0,
  bytes: 0,
  tempNamed: 0,
  dirTimesDenied: 0,
});

export type FileStatus =
  'sent' | 'received' | 'unchanged' | 'link' | 'skipped_special' | 'skipped_temp_name' | 'deleted';

export interface TransferOptions {
  /** Keep modification times (default true); unchanged-file detection relies on them. */
  times?: boolean;
  /** Files in flight at once per file channel. */
  parallel?: number;
  onFile?: (relPath: string, bytes: number, status: FileStatus) => void;
  /** A regular file was found and queued: the live display's totals grow as the tree is walked. */
  onPlanned?: (bytes: number) => void;
  /**
   * --checksum: sha256 of the files on the host (relative path -> hex, computed there); equal
   * content is skipped whatever the mtime.
   */
  remoteHashes?: Map<string, string>;
  /** --delete: remove destination entries that the source does not have (only inside the destination tree). */
  deleteExtra?: boolean;
  /** --follow-links: push what symlinks point to instead of recreating the links. */
  followLinks?: boolean;
  /** Pull --keep-special-bits: keep a host file's setuid, setgid and sticky bits (else 0777 bits only). */
  keepSpecialBits?: boolean;
}
