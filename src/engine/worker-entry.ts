// A forked worker's entry in the bundle (dist/src/bundle/worker.js, what forkWorker starts): the worker itself is
// worker.cjs beside it, loaded through V8's code cache (code-cache.ts) instead of compiled from source on every start.
import { fileURLToPath } from 'node:url';
import { loadBundle } from '../code-cache.js';

// An early worker that no pool adopted (herd --help, bad usage) leaves after its parent, which does not wait for it:
// it writes nothing then (it ran none of a worker's work, and its parent's caller may be removing that home).
let adopted = false;
process.once('message', () => {
  adopted = true;
});
loadBundle(fileURLToPath(new URL('./worker.cjs', import.meta.url)), true, () => adopted);
