// npm run build, after tsc: the CLI and the worker each as one ES module, dist/src/bundle/{main,worker}.js, which
// bin/herd (through the small herd.js entry) and the pool start. A process that loads one file instead of ~100
// modules and ssh2's ~40 starts in about half the time (issue 17: time to the first answer); the modules under
// dist/src/ stay for the tests and the bench. ssh2's optional native addons stay outside, loaded from node_modules
// as ssh2 itself would load them.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
let esbuild;
try {
  esbuild = require('esbuild');
} catch (err) {
  throw new Error(`npm run build needs esbuild, a devDependency: run npm ci first (${err.message})`, { cause: err });
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist', 'src', 'bundle');
const SSH2 = fs.realpathSync(path.dirname(require.resolve('ssh2/package.json')));

/** ssh2 requires its crypto binding by a relative path: from the bundle it is found in ssh2's package, by name. */
const nativeAddonsOutside = {
  name: 'native-addons-outside',
  setup(build) {
    build.onResolve({ filter: /^cpu-features$/ }, (args) => ({ path: args.path, external: true }));
    build.onResolve({ filter: /[/\\]sshcrypto\.node$/ }, (args) => {
      const file = path.resolve(fs.realpathSync(args.resolveDir), args.path);
      if (!file.startsWith(SSH2 + path.sep)) throw new Error(`an sshcrypto.node outside ssh2: ${file}`);
      return { path: `ssh2/${path.relative(SSH2, file).split(path.sep).join('/')}`, external: true };
    });
  },
};

// ssh2 and its dependencies are CommonJS: in an ES module they get the require, __filename and __dirname they expect.
const banner = [
  "import { createRequire as __herdCreateRequire } from 'node:module';",
  "import { fileURLToPath as __herdFileURLToPath } from 'node:url';",
  'const require = __herdCreateRequire(import.meta.url);',
  'const __filename = __herdFileURLToPath(import.meta.url);',
  "const __dirname = __herdFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

fs.rmSync(OUT, { recursive: true, force: true });
await esbuild.build({
  entryPoints: {
    // The entry forks the first worker before the CLI's modules are even read: it imports main.js only after.
    herd: path.join(ROOT, 'src', 'cli', 'entry.ts'),
    main: path.join(ROOT, 'src', 'cli', 'main.ts'),
    worker: path.join(ROOT, 'src', 'engine', 'worker.ts'),
  },
  outdir: OUT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: banner },
  plugins: [nativeAddonsOutside],
  logLevel: 'warning',
});
process.stdout.write(`${path.relative(process.cwd(), OUT)}/: herd.js, main.js and worker.js bundled\n`);
