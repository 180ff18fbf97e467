// herd as a user installs it, not as it runs from the checkout: `npm pack` of the project (prepack builds),
// that tarball installed into a fresh global prefix, and the installed `herd` run against the loopback fleet.
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackAddress, startFleet, type Fleet } from '../fleet/fleet.js';
import { fleetArgs, writeInventory } from './fleet-args.js';
import {
  childPids,
  PRINT_ADDRESS,
  readHostsTsv,
  ROOT,
  runDirOf,
  runHerdAt,
  scratchDir,
  useLoopbackFleet,
} from './herd-cli.js';

const run = promisify(execFile);
const scope = useLoopbackFleet();
const PACKAGE = '@herd-ops/herd';

/** Every worker process seen while a run lasts: its executable and its command line. */
interface SeenWorker {
  exe: string;
  argv: string[];
  nodeOptions: string | undefined;
}

/** Polls the herd process for its children (the workers) until it exits. */
function watchWorkers(): { onSpawn: (child: ChildProcess) => void; seen: SeenWorker[] } {
  const seen = new Map<number, SeenWorker>();
  const onSpawn = (child: ChildProcess): void => {
    const timer = setInterval(() => {
      // Read again at every tick: a child caught between fork and exec still shows its parent's command line.
      for (const pid of childPids(child.pid!)) {
        try {
          const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
          const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
          const nodeOptions = environ.find((e) => e.startsWith('NODE_OPTIONS='))?.slice('NODE_OPTIONS='.length);
          seen.set(pid, { exe: fs.readlinkSync(`/proc/${pid}/exe`), argv, nodeOptions });
        } catch {
          /* gone already */
        }
      }
    }, 20);
    child.on('exit', () => clearInterval(timer));
  };
  return {
    onSpawn,
    get seen() {
      return [...seen.values()];
    },
  };
}

/** A small tree on "the host" (the fleet is this machine) that the fleet's login user can read. */
function remoteTree(): string {
  const dir = scratchDir('herd-package-remote-');
  fs.mkdirSync(path.join(dir, 'etc'));
  fs.writeFileSync(path.join(dir, 'motd'), 'hello from the fleet\n');
  fs.writeFileSync(path.join(dir, 'etc', 'app.conf'), 'port=8080\n');
  for (const d of [dir, path.join(dir, 'etc')]) fs.chmodSync(d, 0o755);
  return dir;
}

/** `--version`, a `run` on three hosts (with its workers seen) and a `pull`, by the herd at `executable`. */
async function exercise(executable: string, tag: string): Promise<{ version: string; workers: SeenWorker[] }> {
  const env = { HOME: scope.home };
  const cwd = scope.home;
  const version = await runHerdAt(executable, ['--version'], { env, cwd });
  expect(version.stderr).toBe('');
  expect(version.code).toBe(0);

  const hosts = scope.fleet.hosts(3, tag === 'npm' ? 100 : 200);
  const inv = writeInventory(scope, `${tag}.txt`, hosts);
  const watch = watchWorkers();
  // The sleep keeps the workers alive long enough to be seen.
  const ran = await runHerdAt(
    executable,
    ['run', '-i', inv, ...fleetArgs(scope, `runs-${tag}`), '-w', '2', `sleep 1; ${PRINT_ADDRESS}`],
    { env, cwd, onSpawn: watch.onSpawn },
  );
  expect(ran.stderr).toContain('3 hosts: 3 ok');
  expect(ran.code).toBe(0);
  const runDir = runDirOf(ran);
  for (const h of hosts) {
    expect(readHostsTsv(runDir).get(h)?.status).toBe('ok');
    expect(fs.readFileSync(path.join(runDir, 'stdout', h), 'utf8')).toBe(`${h}\n`);
  }

  const remote = remoteTree();
  const back = scratchDir('herd-package-back-');
  const pulled = await runHerdAt(executable, ['pull', '-i', inv, ...fleetArgs(scope, `runs-${tag}`), remote, back], {
    env,
    cwd,
  });
  expect(pulled.stderr).toContain('3 hosts: 3 ok');
  expect(pulled.code).toBe(0);
  for (const h of hosts) {
    expect(fs.readFileSync(path.join(back, h, 'motd'), 'utf8')).toBe('hello from the fleet\n');
    expect(fs.readFileSync(path.join(back, h, 'etc', 'app.conf'), 'utf8')).toBe('port=8080\n');
  }
  return { version: version.stdout.trim(), workers: watch.seen };
}

/**
 * A host presenting an OpenSSH host certificate, trusted only through `@cert-authority`: ssh2 negotiates certificates
 * through herd's run-time extension (transport/ssh2-certs.ts), which must load before ssh2 in an installed package
 * and in a bundle too, or the handshake fails.
 */
let certFleet: { fleet: Fleet; caLine: string } | undefined;
const certAddress = loopbackAddress(230);
async function verifiesHostCertificate(executable: string, tag: string): Promise<void> {
  if (!certFleet) {
    const ca = path.join(scratchDir('herd-package-ca-'), 'ca');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', ca]);
    const fleet = await startFleet({ hostCertificate: { caKey: ca, principals: [certAddress] } });
    certFleet = { fleet, caLine: `@cert-authority * ${fs.readFileSync(`${ca}.pub`, 'utf8')}` };
  }
  const { fleet, caLine } = certFleet;
  const known = path.join(scratchDir(`herd-package-kh-${tag}-`), 'known_hosts');
  fs.writeFileSync(known, caLine);
  const inv = writeInventory(scope, `cert-${tag}.txt`, [certAddress]);
  const args = ['-u', fleet.user, '-p', String(fleet.port), '-k', fleet.keyPath, '--known-hosts', known];
  const ran = await runHerdAt(
    executable,
    [
      'run',
      '-i',
      inv,
      ...args,
      '--host-key-checking',
      'strict',
      '-o',
      path.join(scope.home, `runs-cert-${tag}`),
      'true',
    ],
    { env: { HOME: scope.home }, cwd: scope.home },
  );
  expect(ran.stderr).toContain('1 host: 1 ok');
  expect(fs.readFileSync(known, 'utf8')).toBe(caLine); // verified through the CA, nothing pinned
}
afterAll(async () => {
  await certFleet?.fleet.stop();
});

/** `npm run sea`, started once: alongside the pack and install (they touch dist/src/, it writes dist/sea/). */
let seaBuild: Promise<unknown> | undefined;
const buildSea = (): Promise<unknown> => (seaBuild ??= run('npm', ['run', 'sea'], { cwd: ROOT }));

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

describe(`the npm package ${PACKAGE}, packed and installed into a fresh prefix`, () => {
  let files: string[] = [];
  let prefix = '';
  let installed = '';

  beforeAll(async () => {
    void buildSea().catch(() => {
      /* the single executable's own beforeAll awaits it and fails there */
    });
    const out = scratchDir('herd-pack-');
    prefix = scratchDir('herd-prefix-');
    // prepack builds dist/ from a clean dist/src/; its output goes to stderr, the listing to stdout.
    const packed = await run('npm', ['pack', '--json', '--pack-destination', out], { cwd: ROOT });
    const [listing] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    files = listing!.files.map((f) => f.path);
    const tarball = path.join(out, listing!.filename);
    // Dependencies come from the local npm cache, as on a controller with a mirror. --ignore-scripts: their install
    // scripts only compile ssh2's optional addons (half a minute here); herd runs without them, as the single
    // executable below does, and the rest of the suite runs with them.
    await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball],
      { cwd: out },
    );
    installed = path.join(prefix, 'bin', 'herd');
  }, 90_000);

  it('ships what runs (dist/src, bin/herd, README, LICENSE) and no tests, benchmarks or sources', () => {
    expect(files).toContain('bin/herd');
    // What runs: the CLI and the worker, one bundled file each and the entry that loads it (scripts/bundle.mjs).
    for (const f of ['herd.js', 'main.cjs', 'worker.js', 'worker.cjs']) expect(files).toContain(`dist/src/bundle/${f}`);
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    const stray = files.filter(
      (f) =>
        !/^dist\/src\/.+\.js$|^dist\/src\/bundle\/[\w-]+\.cjs$/.test(f) &&
        // The package.json files that make bin/herd and the bundle's entries CommonJS (scripts/bundle.mjs).
        ![
          'bin/herd',
          'bin/package.json',
          'dist/src/bundle/package.json',
          'LICENSE',
          'README.md',
          'package.json',
        ].includes(f),
    );
    expect(stray).toEqual([]);
  });

  it('installs a `herd` that answers --version, runs on three hosts with workers from the install, and pulls', async () => {
    const installedRoot = path.join(prefix, 'lib', 'node_modules', ...PACKAGE.split('/'));
    expect(fs.realpathSync(installed)).toBe(path.join(installedRoot, 'bin', 'herd'));
    const { version, workers } = await exercise(installed, 'npm');
    expect(version).toBe(packageVersion());
    // Workers start from the installed package, never from the checkout the tarball was made in.
    expect(workers.length).toBeGreaterThan(0);
    for (const w of workers) expect(w.argv).toContain(path.join(installedRoot, 'dist', 'src', 'bundle', 'worker.js'));
  });

  it('verifies a host certificate through @cert-authority (the ssh2 extension loads first in the install)', async () => {
    await verifiesHostCertificate(installed, 'npm');
  });
});

describe('the single executable (npm run sea), copied alone into an empty directory', () => {
  let executable = '';

  beforeAll(async () => {
    await buildSea();
    // Alone: no node_modules, no dist/ and no package.json beside it, so nothing can load from the checkout.
    executable = path.join(scratchDir('herd-sea-'), 'herd');
    fs.copyFileSync(path.join(ROOT, 'dist', 'sea', 'herd'), executable);
    fs.chmodSync(executable, 0o755);
  }, 90_000);

  it("bundles none of ssh2's optional native addons (ssh2 takes its JavaScript and Node crypto paths)", () => {
    const bundle = fs.readFileSync(path.join(ROOT, 'dist', 'sea', 'herd.cjs'), 'utf8');
    expect(bundle).not.toMatch(/require\(["'][^"']*(?:\.node|cpu-features)["']\)/);
    expect(bundle).toContain('cpu-features is left out of the single executable');
  });

  it('answers --version, runs on three hosts with workers that are the same binary, and pulls', async () => {
    const { version, workers } = await exercise(executable, 'sea');
    expect(version).toBe(packageVersion());
    expect(workers.length).toBeGreaterThan(0);
    for (const w of workers) {
      expect(w.exe).toBe(executable);
      expect(w.argv.slice(1)).toEqual(['--herd-sea-worker']);
      // A worker on three hosts has V8's own young generation: no V8 option reaches it, through the env either.
      expect(w.nodeOptions ?? '').not.toMatch(/--max-semi-space-size/);
    }
  });

  it('verifies a host certificate through @cert-authority (the ssh2 extension loads first in the bundle)', async () => {
    await verifiesHostCertificate(executable, 'sea');
  });

  it('refuses --herd-sea-worker typed by hand (no parent to serve) as an unknown option, exit 2', async () => {
    const r = await runHerdAt(executable, ['--herd-sea-worker'], { env: { HOME: scope.home }, cwd: scope.home });
    expect(r.stderr).toBe("herd: unknown option '--herd-sea-worker'\n(add --help for usage)\n");
    expect(r.code).toBe(2);
  });
});
