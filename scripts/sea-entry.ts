// Entry of the single executable (npm run sea): one binary is both herd and its worker processes. The pool starts a
// worker as this same binary with SEA_WORKER_ARG (and an IPC channel); anything else is the CLI.
import { main } from '../src/cli/main.js';
import { SEA_WORKER_ARG } from '../src/engine/pool.js';

if (process.argv[2] === SEA_WORKER_ARG && process.send) {
  // The worker module starts listening to its parent when it is loaded.
  void import('../src/engine/worker.js');
} else {
  void main(process.argv);
}
