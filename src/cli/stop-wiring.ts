// The operator's ways to stop a run, wired to the engine's StopControl: SIGINT/SIGTERM and the
// --deadline timer. The CLI owns process signals; the engine only decides what a stop does.
import type { StopControl } from '../engine/stop-control.js';

/** Installs the handlers and the deadline timer; returns what removes them again. */
export function wireStops(control: StopControl): () => void {
  const onSignal = (signal: NodeJS.Signals): void => control.interrupt(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let deadline: NodeJS.Timeout | undefined;
  if (control.deadlineS) {
    deadline = setTimeout(() => control.deadline(), control.deadlineS * 1000);
    deadline.unref();
  }
  return () => {
    clearTimeout(deadline);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
