// V8 flags herd's own process sets while it runs, instead of on its command line. Any V8 option on the command line
// (even a value V8 already defaults to) makes Node compile its built-in modules from source, not from the code cache
// it embeds (V8 checks a hash of every flag): ~20 ms of every command. A flag set once the process has started costs
// that only for the built-ins loaded after it, and only in the run that sets it.
import { createRequire } from 'node:module';

/** herd's own process switches to a small young generation for a run over more hosts than this. */
export const SMALL_OWN_YOUNG_GENERATION_ABOVE = 256;

interface FlagsState {
  changed: boolean;
  /** What must happen while the flags are still those the process started with (code-cache.ts: write the cache). */
  beforeChange: (() => void)[];
}

// One state per process, not per copy of this module: the small entry that loads the CLI's bundle (cli/entry.ts, in
// herd.js: the code cache's side) and the bundle itself (main.cjs: the pool's side) each carry their own copy.
const KEY = Symbol.for('herd.v8-flags');
const state: FlagsState = ((globalThis as { [KEY]?: FlagsState })[KEY] ??= { changed: false, beforeChange: [] });

/** Run `fn` just before this process first changes V8's flags (never, if it does not). */
export function beforeV8FlagsChange(fn: () => void): void {
  state.beforeChange.push(fn);
}

/**
 * From now on V8's young generation does not grow (it starts at 1 MiB semi-spaces, as --max-semi-space-size=1 would
 * keep it). herd's own process holding 10,000 sessions is ~80 MiB smaller with it (the simulator's bench: 536 MiB
 * for herd's tree, 619 without); on a small run it would only cost CPU in the collector.
 */
export function keepYoungGenerationSmall(): void {
  if (state.changed) return;
  state.changed = true;
  for (const fn of state.beforeChange.splice(0)) fn();
  // A built-in resolves the same from any base (the single executable has no file URL for import.meta.url). node:v8
  // is loaded already in any process that forked a worker (the IPC's serialization uses it).
  const v8 = createRequire(process.execPath)('node:v8') as typeof import('node:v8');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/** Whether this process changed V8's flags: a code cache it makes now would be refused by the next start. */
export function v8FlagsChanged(): boolean {
  return state.changed;
}
