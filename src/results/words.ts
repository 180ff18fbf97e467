// Sizes and counts in words people read: `1 file`, `12 KB`, never `0.0 MB` for a small file. They are
// result data (the engine builds hosts.tsv reasons with them), so they live here, beside the results.

/** `1 file`, `3 files`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Bytes in the largest unit that keeps a digit before the point: `512 bytes`, `12 KB`, `3.4 MB`, `1.2 GB`
 * (1024-based).
 */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return plural(bytes, 'byte');
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(1)} GB`;
}
