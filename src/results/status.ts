// Host statuses and the one result shape every host ends a run with.

/** Final per-host statuses written to hosts.tsv; scripts match on these exact words. */
export const HOST_STATUSES = [
  'ok',
  'failed',
  'unreachable',
  'auth_failed',
  'hostkey_mismatch',
  'hostkey_unknown',
  'timeout',
  'interrupted',
  'not_started',
  'error',
] as const;

export type HostStatus = (typeof HOST_STATUSES)[number];

/** One host's outcome. Success and failure share this flat shape. */
export interface HostResult {
  id: string;
  status: HostStatus;
  /** Remote exit code when the command finished; null otherwise. */
  exitCode: number | null;
  /** Signal name when the remote command was killed by a signal. */
  signal?: string | null;
  durationMs: number;
  /** Why the host is not ok, in one line; empty when ok. */
  reason: string;
  /** Stable error code behind the reason (E_REFUSED, E_AUTH, ...), when there is one. */
  code?: string;
}

export function isOk(result: Pick<HostResult, 'status'>): boolean {
  return result.status === 'ok';
}
