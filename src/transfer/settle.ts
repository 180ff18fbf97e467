// A tree walk queues files as it goes; its end waits for all of them.

/** Wait for the walk and every queued file; on failure, let queued files finish before reporting. */
export async function settle(walk: Promise<void>, pending: Promise<unknown>[]): Promise<void> {
  try {
    await walk;
  } catch (err) {
    await Promise.allSettled(pending);
    throw err;
  }
  const results = await Promise.allSettled(pending);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
