// herd's version, read from package.json beside the build (cheap: no other imports).
import fs from 'node:fs';

/** Set by the single executable's bundler (scripts/build-sea.mjs): no package.json travels with that binary. */
declare const HERD_BUNDLED_VERSION: string | undefined;

export function herdVersion(): string {
  if (typeof HERD_BUNDLED_VERSION === 'string') return HERD_BUNDLED_VERSION;
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === '@herd-ops/herd' && pkg.version) return pkg.version;
    } catch {
      /* try the next layout */
    }
  }
  return '0.0.0';
}
