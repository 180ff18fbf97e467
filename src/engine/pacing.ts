// Connection pacing: a steady start rate and jittered backoff between handshake retries.

/**
 * Returns a function that resolves when the next start may go: starts are spaced 1/rate seconds
 * apart (no burst allowance, since a burst is exactly what sshd's MaxStartups punishes).
 * A rate of 0 or less never waits.
 */
export function startRateGate(perSecond: number, now: () => number = Date.now): () => Promise<void> {
  if (!(perSecond > 0)) return () => Promise.resolve();
  const spacingMs = 1000 / perSecond;
  let nextAt = 0;
  return () => {
    const t = now();
    const at = Math.max(t, nextAt);
    nextAt = at + spacingMs;
    const wait = at - t;
    return wait < 1 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, wait));
  };
}

/** Exponential backoff with full jitter in [0.5, 1.5) of the step, capped: attempt 1 ~ 250 ms, 2 ~ 500 ms, ... */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(250 * 2 ** (attempt - 1), 4_000);
  return Math.round(base * (0.5 + random()));
}
