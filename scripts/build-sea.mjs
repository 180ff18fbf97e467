// npm run sea: herd as one executable for controllers without Node.js (Node's single executable applications).
// esbuild bundles scripts/sea-entry.ts into one CommonJS file, node turns it into a blob, postject injects the blob
// into a copy of this node binary: dist/sea/herd. ssh2's optional native addons are left out: in a single executable
// only built-in modules load, and ssh2 falls back to Node's crypto for what they would do.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

// Resolved as CommonJS, so NODE_PATH can point at a copy installed aside while developing.
const require = createRequire(import.meta.url);
const [esbuild, { inject }] = ['esbuild', 'postject'].map((name) => {
  try {
    return require(name);
  } catch (err) {
    throw new Error(`npm run sea needs ${name}, a devDependency: run npm ci first (${err.message})`, { cause: err });
  }
});

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist', 'sea');
const BUNDLE = path.join(OUT, 'herd.cjs');
const BLOB = path.join(OUT, 'herd.blob');
const CONFIG = path.join(OUT, 'sea-config.json');
const EXE = path.join(OUT, 'herd');
// Node's documented fuse: postject flips it so the binary runs the injected blob.
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** What ssh2 loads in a try/catch when present: cpu-features (cipher order) and its crypto binding. */
const NATIVE_ADDONS = /^cpu-features$|[/\\]sshcrypto\.node$/;

const leaveOutNativeAddons = {
  name: 'leave-out-native-addons',
  setup(build) {
    build.onResolve({ filter: NATIVE_ADDONS }, (args) => ({ path: args.path, namespace: 'left-out' }));
    // ssh2's require() throws as when the addon was never built, and ssh2 takes its JavaScript path.
    build.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is left out of the single executable`)});`,
      loader: 'js',
    }));
  },
};

const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });

const { metafile } = await esbuild.build({
  entryPoints: [path.join(ROOT, 'scripts', 'sea-entry.ts')],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  define: { HERD_BUNDLED_VERSION: JSON.stringify(version) },
  plugins: [leaveOutNativeAddons],
  metafile: true,
  logLevel: 'warning',
  // import.meta.url is read only where a single executable never goes (pool.ts, version.ts check first).
  logOverride: { 'empty-import-meta': 'silent' },
});
const natives = Object.keys(metafile.inputs).filter(
  (input) => !input.startsWith('left-out:') && (input.endsWith('.node') || input.includes('cpu-features')),
);
if (natives.length > 0) throw new Error(`native addons in the bundle: ${natives.join(', ')}`);

fs.writeFileSync(
  CONFIG,
  JSON.stringify({ main: BUNDLE, output: BLOB, disableExperimentalSEAWarning: true, useCodeCache: true }),
);
execFileSync(process.execPath, ['--experimental-sea-config', CONFIG], { stdio: ['ignore', 'ignore', 'inherit'] });
fs.copyFileSync(process.execPath, EXE);
fs.chmodSync(EXE, 0o755);
await inject(EXE, 'NODE_SEA_BLOB', fs.readFileSync(BLOB), { sentinelFuse: FUSE });
fs.rmSync(BLOB);
process.stdout.write(`${path.relative(process.cwd(), EXE)}: herd ${version} as a single executable\n`);
