// herd.yml, ~/.config/herd/config.yml and HERD_*: each changes a real run as the flag would, in the
// documented order (command line > HERD_* > herd.yml > user config > built-in), and a bad file stops
// every command before any host. Every herd.yml here is written inside a scratch directory: one in
// the repository would change every other test.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIGURABLE, configKey } from '../../src/cli/config-file.js';
import { OPTIONS, flagOf, type OptionRow } from '../../src/cli/option-table.js';
import { runDirOf, runHerd, scratchDir, useLoopbackFleet, type HerdResult } from './herd-cli.js';

const scope = useLoopbackFleet();

/** A scratch project: HOME and XDG_CONFIG_HOME inside it, so no real user file is read. */
function project(herdYml: string | null): { dir: string; sub: string; env: Record<string, string> } {
  const dir = scratchDir('herd-config-');
  const sub = path.join(dir, 'playbooks', 'disks');
  fs.mkdirSync(sub, { recursive: true });
  fs.writeFileSync(path.join(dir, 'hosts.txt'), scope.fleet.hosts(3).join('\n') + '\n');
  if (herdYml !== null) fs.writeFileSync(path.join(dir, 'herd.yml'), herdYml);
  return { dir, sub, env: { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'xdg') } };
}

/** The fleet's connection settings as herd.yml lines (paths relative to the file). */
const fleetYml = (): string => {
  const f = scope.fleet;
  return `inventory: hosts.txt\nuser: ${f.user}\nport: ${f.port}\nkey: ${f.keyPath}\nknown_hosts: kh\nout: runs\n`;
};
const record = (r: HerdResult) => JSON.parse(fs.readFileSync(path.join(runDirOf(r), 'run.json'), 'utf8'));
const configRows = (r: HerdResult): Map<string, { value: string; source: string }> =>
  new Map(
    r.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'))
      .map(([k, value, source]) => [k!, { value: value!, source: source! }]),
  );

describe('herd.yml', () => {
  it('a herd.yml in a parent of the working directory changes a run as the flags would; run.json records the file', async () => {
    const p = project(`# the team's defaults\n${fleetYml()}forks: 2\nconnect_timeout: 4\nquiet: yes\n`);
    const byFile = await runHerd(['run', 'uptime'], { cwd: p.sub, env: p.env });
    expect(byFile.code, byFile.stderr).toBe(0);
    const f = scope.fleet;
    const flags = [
      '-i',
      path.join(p.dir, 'hosts.txt'),
      '-u',
      f.user,
      '-p',
      String(f.port),
      '-k',
      f.keyPath,
      '--known-hosts',
      path.join(p.dir, 'kh'),
      '-o',
      path.join(p.dir, 'runs'),
      '--forks',
      '2',
      '--connect-timeout',
      '4',
      '-q',
    ];
    const byFlags = await runHerd(['run', ...flags, 'uptime'], { cwd: p.dir, env: p.env });
    expect(byFlags.code, byFlags.stderr).toBe(0);
    const [a, b] = [record(byFile), record(byFlags)];
    expect(path.dirname(runDirOf(byFile))).toBe(path.join(p.dir, 'runs'));
    expect(a.options).toEqual(b.options);
    expect(a.options).toMatchObject({ forks: 2, connect_timeout_s: 4, user: f.user, port: f.port });
    expect(a.inventory_sources).toEqual([path.join(p.dir, 'hosts.txt')]);
    expect(a.hosts_total).toBe(3);
    expect(a.config_files).toEqual([path.join(p.dir, 'herd.yml')]);
    expect(b.config_files).toEqual([path.join(p.dir, 'herd.yml')]);
    // quiet: yes, as -q: no grouped output on stdout.
    expect(byFile.stdout).toBe(byFlags.stdout);
  });

  it('HERD_* beats herd.yml and the command line beats HERD_*; the user config is under both', async () => {
    const p = project(`${fleetYml()}forks: 2\n`);
    fs.mkdirSync(path.join(p.dir, 'xdg', 'herd'), { recursive: true });
    fs.writeFileSync(path.join(p.dir, 'xdg', 'herd', 'config.yml'), 'forks: 1\nconnect_timeout: 3\n');
    const [file, env, flag] = await Promise.all([
      runHerd(['run', 'true'], { cwd: p.dir, env: p.env }),
      runHerd(['run', 'true'], { cwd: p.dir, env: { ...p.env, HERD_FORKS: '4' } }),
      runHerd(['run', '--forks', '5', 'true'], { cwd: p.dir, env: { ...p.env, HERD_FORKS: '4' } }),
    ]);
    for (const r of [file, env, flag]) expect(r.code, r.stderr).toBe(0);
    expect([file, env, flag].map((r) => record(r).options.forks)).toEqual([2, 4, 5]);
    expect(record(file).options.connect_timeout_s).toBe(3);
    expect(record(file).config_files).toEqual([
      path.join(p.dir, 'xdg', 'herd', 'config.yml'),
      path.join(p.dir, 'herd.yml'),
    ]);
  });

  it('an unknown key, a bad value or a secret exits 2 naming file:line:column, before any host is contacted', async () => {
    const cases: [string, string][] = [
      ['forsk: 3\n', 'herd: herd.yml:7:1: unknown setting "forsk" (did you mean "forks"?)\n'],
      ['forks: x\n', 'herd: herd.yml:7:8: forks: expected an integer >= 1, got "x"\n'],
      [
        'password: hunter2\n',
        'herd: herd.yml:7:1: password: secrets are not kept in files; set password_env to the name of an environment variable that holds it\n',
      ],
    ];
    for (const [line, message] of cases) {
      const p = project(fleetYml() + line);
      for (const args of [['run', 'true'], ['hosts'], ['config']]) {
        const r = await runHerd(args, { cwd: p.dir, env: p.env });
        expect(r.code, `${args[0]} ${line}`).toBe(2);
        expect(r.stderr).toBe(message);
      }
      expect(fs.existsSync(path.join(p.dir, 'runs')), 'no run directory').toBe(false);
      expect(fs.existsSync(path.join(p.dir, 'kh')), 'no host key recorded: no host reached').toBe(false);
    }
    const env = project(fleetYml());
    const r = await runHerd(['run', 'true'], { cwd: env.dir, env: { ...env.env, HERD_CONNECT_TIMEOUT: '-1' } });
    expect([r.code, r.stderr]).toEqual([2, 'herd: HERD_CONNECT_TIMEOUT: expected a number >= 0.1, got "-1"\n']);
  });

  it('HERD_LIMIT is refused (exit 2) rather than ignored, and a misspelt HERD_* is named with a did-you-mean', async () => {
    const p = project(fleetYml());
    const limit = await runHerd(['run', 'true'], {
      cwd: p.dir,
      env: { ...p.env, HERD_LIMIT: scope.fleet.hosts(1)[0]! },
    });
    expect([limit.code, limit.stderr]).toEqual([
      2,
      'herd: HERD_LIMIT: limit is for the command line only: a default selection would silently narrow every command\n',
    ]);
    expect(fs.existsSync(path.join(p.dir, 'runs'))).toBe(false);
    const typo = await runHerd(['hosts'], { cwd: p.dir, env: { ...p.env, HERD_INVENTROY: '/nonexistent' } });
    expect(typo.code).toBe(0);
    expect(typo.stderr).toBe(
      'herd: warning: HERD_INVENTROY is not a setting (did you mean HERD_INVENTORY?); it is not read\n',
    );
  });

  it('the default inventory lets herd hosts and herd run work without -i', async () => {
    const p = project(fleetYml());
    const hosts = await runHerd(['hosts'], { cwd: p.sub, env: p.env });
    expect(hosts.stdout).toBe(scope.fleet.hosts(3).join('\n') + '\n');
    const onlyOne = await runHerd(['hosts', '-i', '-'], {
      cwd: p.sub,
      env: p.env,
      input: `${scope.fleet.hosts(1)[0]}\n`,
    });
    expect(onlyOne.stdout, '-i on the command line replaces the file inventory').toBe(`${scope.fleet.hosts(1)[0]}\n`);
  });
});

describe('herd rerun', () => {
  it('repeats the recorded options over herd.yml; HERD_* and the command line still win; herd.yml fills what was not recorded', async () => {
    const p = project(`${fleetYml()}forks: 3\nquiet: true\n`);
    const first = await runHerd(['run', '--forks', '2', '--no-group', 'false'], { cwd: p.dir, env: p.env });
    expect(first.code, first.stderr).toBe(1);
    expect(record(first).options.forks).toBe(2);
    const byFile = await runHerd(['rerun'], { cwd: p.dir, env: p.env });
    expect(byFile.code, byFile.stderr).toBe(1);
    expect(record(byFile).options.forks, 'the earlier run recorded --forks 2').toBe(2);
    expect(byFile.stdout, 'quiet: true from herd.yml (display flags are not recorded)').toBe('');
    expect(record(byFile).config_files).toEqual([path.join(p.dir, 'herd.yml')]);
    const byEnv = await runHerd(['rerun'], { cwd: p.dir, env: { ...p.env, HERD_FORKS: '4' } });
    expect(record(byEnv).options.forks).toBe(4);
    const byFlag = await runHerd(['rerun', '--forks', '5'], { cwd: p.dir, env: { ...p.env, HERD_FORKS: '4' } });
    expect(record(byFlag).options.forks).toBe(5);
    // herd report finds the runs where out: put them (its own flag for that directory is --runs-dir).
    const report = await runHerd(['report'], { cwd: p.sub, env: p.env });
    expect(report.code, report.stderr).toBe(0);
    expect(fs.existsSync(path.join(runDirOf(byFlag), 'report.html'))).toBe(true);
  });
});

describe('herd config', () => {
  it('shows each setting with its source: built-in, herd.yml:line:column, env, command line; --json too', async () => {
    const p = project('forks: 7\n\nconnect_timeout: 2\nuser: ops\n');
    fs.mkdirSync(path.join(p.dir, 'xdg', 'herd'), { recursive: true });
    fs.writeFileSync(path.join(p.dir, 'xdg', 'herd', 'config.yml'), 'grace: 3\nuser: me\n');
    const r = await runHerd(['config', '--user', 'root'], { cwd: p.sub, env: { ...p.env, HERD_CONNECT_TIMEOUT: '9' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('setting\tvalue\tsource');
    const rows = configRows(r);
    expect([...rows.keys()]).toEqual(CONFIGURABLE.map(configKey));
    expect(rows.get('forks')).toEqual({ value: '7', source: `${path.join(p.dir, 'herd.yml')}:1:8` });
    expect(rows.get('connect_timeout')).toEqual({ value: '9', source: 'env HERD_CONNECT_TIMEOUT' });
    expect(rows.get('user')).toEqual({ value: 'root', source: 'command line' });
    expect(rows.get('grace')).toEqual({ value: '3', source: `${path.join(p.dir, 'xdg', 'herd', 'config.yml')}:1:8` });
    expect(rows.get('port')).toEqual({ value: '22', source: 'built-in' });

    const json = await runHerd(['config', '--json'], { cwd: p.dir, env: p.env });
    const objects = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(objects.find((o) => o.setting === 'forks')).toEqual({
      kind: 'setting',
      setting: 'forks',
      variable: 'HERD_FORKS',
      value: '7',
      source: 'herd.yml:1:8',
      origin: { kind: 'file', file: path.join(p.dir, 'herd.yml'), display: 'herd.yml', line: 1, column: 8 },
    });
    expect(objects.find((o) => o.setting === 'user')).toMatchObject({ value: 'ops', source: 'herd.yml:4:7' });

    // A value with a tab or a newline stays one TSV field (quoted as JSON), so cut and awk still work.
    const odd = project('user: "a\\tb\\nc"\ninventory: ["x,y.txt", z.txt]\n');
    const oddRows = configRows(await runHerd(['config'], { cwd: odd.dir, env: odd.env }));
    expect(oddRows.get('user')).toEqual({ value: '"a\\tb\\nc"', source: 'herd.yml:1:7' });
    expect(oddRows.get('inventory')!.value).toBe(
      `${JSON.stringify(path.join(odd.dir, 'x,y.txt'))},${path.join(odd.dir, 'z.txt')}`,
    );
  });

  it('takes every option a file may set on its command line, and shows each as command line', async () => {
    const p = project(null);
    const args = CONFIGURABLE.flatMap((key) => {
      const row: OptionRow = OPTIONS[key];
      const flag = flagOf(key, 'config');
      if (row.value === 'flag' || row.value === 'negated') return [flag];
      return (Array.isArray(row.example) ? row.example : [row.example as string]).flatMap((v) => [flag, v]);
    });
    const r = await runHerd(['config', ...args], { cwd: p.dir, env: p.env });
    expect(r.code, r.stderr).toBe(0);
    const rows = configRows(r);
    expect(CONFIGURABLE.filter((k) => rows.get(configKey(k))?.source !== 'command line')).toEqual([]);
  });
});
