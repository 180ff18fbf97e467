// A forked worker's entry in the bundle (dist/src/bundle/worker.js, what forkWorker starts): the worker itself is
// worker.cjs beside it, loaded through V8's code cache (code-cache.ts) instead of compiled from source on every start.
import { fileURLToPath } from 'node:url';
import { compileBundle } from '../code-cache.js';
import type { WorkerMessage } from './protocol.js';

const compiled = compileBundle(fileURLToPath(new URL('./worker.cjs', import.meta.url)));

// The cache is written once, as the worker reports its first host's result, before that report leaves: herd cannot
// end its run (nor its caller remove the home the cache lives in) until it has it. Never at exit: herd does not
// wait for every worker's exit (a run stopped early, an early worker no run adopted), and a worker writing after
// herd has gone raced its caller's cleanup. By then the functions a host's work needs are compiled, so they are in it.
if (compiled.cacheFile !== null && process.send) {
  const send = process.send.bind(process);
  let saved = false;
  process.send = ((message: WorkerMessage, ...rest: unknown[]) => {
    if (!saved && reportsResult(message)) {
      saved = true;
      compiled.save();
    }
    return (send as (...args: unknown[]) => boolean)(message, ...rest);
  }) as typeof process.send;
}
compiled.run();

function reportsResult(message: WorkerMessage): boolean {
  return message.kind === 'batch' ? message.messages.some(reportsResult) : message.kind === 'host_done';
}
