// npm run build, after tsc: the CLI and the worker each as one CommonJS file, dist/src/bundle/{main,worker}.cjs,
// which bin/herd (through the small herd.js entry) and the pool (through worker.js) load with V8's code cache
// (src/code-cache.ts). A process that loads one file instead of ~100 modules and ssh2's ~40 starts in about half
// the time (issue 17: time to the first answer); the modules under dist/src/ stay for the tests and the bench.
// ssh2's optional native addons stay outside, loaded from node_modules as ssh2 itself would load them.
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

/**
 * ssh2's index loads its HTTP(S)-over-SSH agents, and with them Node's http, https and tls (~2.5 ms of every
 * worker's start); herd uses none of them (ssh2.HTTPAgent / HTTPSAgent are undefined in the bundle).
 */
const withoutHttpAgents = {
  name: 'ssh2-without-http-agents',
  setup(build) {
    build.onResolve({ filter: /^\.\/http-agents\.js$/ }, (args) =>
      fs.realpathSync(args.resolveDir) === path.join(SSH2, 'lib')
        ? { path: args.path, namespace: 'unused' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'unused' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

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

// The CLI and the worker, each one CommonJS file that code-cache.ts runs as a vm.Script with V8's code cache (Node 20's
// ES module loader takes none). import.meta.url is the file's own URL; 'use strict' keeps the strict semantics the
// code had as ES modules; an import() would fail in a vm.Script without a dynamic-import hook, so none is left.
// __herdBuiltin: see builtinsOnce below.
const bodyBanner = [
  "'use strict';",
  "const __herdImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
  'const __herdBuiltins = new Map();',
  'function __herdBuiltin(id, nodeMode) {',
  "  const key = nodeMode ? id + ' node' : id;",
  '  let m = __herdBuiltins.get(key);',
  '  if (m === undefined) __herdBuiltins.set(key, (m = __toESM(require(id), nodeMode)));',
  '  return m;',
  '}',
].join('\n');

/**
 * In a CommonJS bundle esbuild wraps every `import x from 'node:fs'` of every module in __toESM, which copies the
 * built-in's properties (a getter each) into a new object: 77 times in the CLI, ~10 ms of its start. A built-in's
 * exports are fixed, so one copy per built-in serves every module (__herdBuiltin, in the banner).
 */
function builtinsOnce(text) {
  return text.replace(/__toESM\(require\(("node:[\w/]+")\)(, 1)?\)/g, (_, id, nodeMode) =>
    nodeMode ? `__herdBuiltin(${id}, 1)` : `__herdBuiltin(${id})`,
  );
}
// The small entries that start each process: herd.js forks the first worker before main.cjs is read; worker.js is
// what a fork starts, loading worker.cjs. Both import only Node's built-in modules and herd's own. They are CommonJS
// too (the package.json written beside them says so, as bin/package.json does for bin/herd): a process whose entry
// is an ES module starts Node's ES module loader, fs/promises and readline with it, ~5 ms of CPU per process.
const entryOptions = { outdir: OUT, bundle: true, platform: 'node', target: 'node20', logLevel: 'warning' };
const cjs = { format: 'cjs', define: { 'import.meta.url': '__herdImportMetaUrl' } };

fs.rmSync(OUT, { recursive: true, force: true });
await esbuild.build({
  ...entryOptions,
  ...cjs,
  entryPoints: {
    herd: path.join(ROOT, 'src', 'cli', 'entry.ts'),
    worker: path.join(ROOT, 'src', 'engine', 'worker-entry.ts'),
  },
  banner: { js: bodyBanner.split('\n').slice(0, 2).join('\n') },
});
fs.writeFileSync(path.join(OUT, 'package.json'), '{ "type": "commonjs" }\n');
await esbuild.build({
  ...entryOptions,
  entryPoints: {
    main: path.join(ROOT, 'src', 'cli', 'main.ts'),
    worker: path.join(ROOT, 'src', 'engine', 'worker.ts'),
  },
  ...cjs,
  outExtension: { '.js': '.cjs' },
  supported: { 'dynamic-import': false },
  banner: { js: bodyBanner },
  plugins: [nativeAddonsOutside, withoutHttpAgents],
});
for (const body of ['main.cjs', 'worker.cjs']) {
  const text = builtinsOnce(fs.readFileSync(path.join(OUT, body), 'utf8'));
  fs.writeFileSync(path.join(OUT, body), text);
  if (/__toESM\(require\("node:/.test(text)) throw new Error(`${body}: a built-in still converted at each import`);
  if (/\bimport\s*\(\s*[^\s)]/.test(text.replace(/\/\/.*$/gm, ''))) throw new Error(`${body}: an import() is left`);
}
process.stdout.write(`${path.relative(process.cwd(), OUT)}/: herd.js and worker.js, main.cjs and worker.cjs bundled\n`);
