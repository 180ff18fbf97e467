// The program's entry (bin/herd; the bundle's herd.js): the CLI, main.cjs beside this file, loaded through V8's code
// cache (code-cache.ts), so that it is not compiled from source on every start.
import { fileURLToPath } from 'node:url';
import { loadBundle } from '../code-cache.js';

/** Commands that run on hosts: the CLI's main path, whose code cache replaces one written by, say, --version. */
const ON_HOSTS = new Set(['run', 'play', 'push', 'pull', 'rerun', 'shell']);

const cli = fileURLToPath(new URL('./main.cjs', import.meta.url));
const { main } = loadBundle(cli, ON_HOSTS.has(process.argv[2] ?? '')) as typeof import('./main.js');
// No top-level await: in the bundle this entry is CommonJS (scripts/bundle.mjs). main reports its own errors.
void main(process.argv);
