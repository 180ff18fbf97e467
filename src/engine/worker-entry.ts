// A forked worker's entry in the bundle (dist/src/bundle/worker.js, what forkWorker starts): the worker itself is
// worker.cjs beside it, loaded through V8's code cache (code-cache.ts) instead of compiled from source on every start.
import { fileURLToPath } from 'node:url';
import { loadBundle } from '../code-cache.js';

loadBundle(fileURLToPath(new URL('./worker.cjs', import.meta.url)));
