// The program's entry (bin/herd; the bundle's herd.js): a command that runs on hosts forks its first worker before
// the CLI's modules are read (engine/worker-process.ts startEarlyWorker), then the CLI starts. The CLI is main.js
// beside this file, named at run time so the bundler leaves it a separate file (dist/src/bundle/main.js).
import { startEarlyWorker } from '../engine/worker-process.js';

startEarlyWorker(process.argv);
const cli = new URL('./main.js', import.meta.url).href;
const { main } = (await import(cli)) as typeof import('./main.js');
await main(process.argv);
