// A host is an adversary: its output and its file names carry terminal escapes (set the window title,
// clear the screen, CSI as the one character U+009B, a CR that overwrites, a bidi override). Served
// by the real sshd, herd must show them escaped on a terminal (tmux is the terminal) and keep them
// byte-exact in result files, pipes and --json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HERD_BIN, scratchDir, useLoopbackFleet } from './herd-cli.js';
import { fleetArgs } from './fleet-args.js';
import { hasTmux, openTerminal, type Terminal } from './tmux.js';

const scope = useLoopbackFleet();
// What every host prints on stdout: OSC 0 (title), ED (clear screen), C1 CSI, CR, RLO, an invalid byte.
const PAYLOAD = Buffer.from('A\x1b]0;pwned-title\x07B\x1b[2JC\u009bD\rE\u202eF', 'utf8');
const STDOUT = Buffer.concat([PAYLOAD, Buffer.from([0xff]), Buffer.from('G\n')]);
// The failing host adds a line, and an escape-laden stderr.
const ODD_STDOUT = Buffer.concat([STDOUT, Buffer.from('odd\x1b[2Jline\n')]);
const STDERR = Buffer.from('ERR\x1b]0;err-title\x07\x1b[2Jstderr\n');
// How a terminal must show PAYLOAD: every control visible.
const SHOWN = 'A\\x1b]0;pwned-title\\x07B\\x1b[2JC\\x9bD\\x0dE\\u202eF';

/** The shell's printf form of some bytes (octal escapes for anything not plain ASCII). */
const plain = (c: number): boolean => c >= 0x20 && c < 0x7f && c !== 0x27 && c !== 0x5c && c !== 0x25;
const octal = (c: number): string => `\\${c.toString(8).padStart(3, '0')}`;
const printfArg = (b: Buffer): string => [...b].map((c) => (plain(c) ? String.fromCharCode(c) : octal(c))).join('');

let hosts: string[] = [];
let bad = '';
let script = '';
let inv = '';

beforeAll(() => {
  hosts = scope.fleet.hosts(3, 1930);
  bad = hosts[2]!;
  // The loopback hosts share this filesystem: the command runs this script, so nothing needs shell quoting.
  const dir = scratchDir('herd-hostile-');
  fs.chmodSync(dir, 0o755);
  script = path.join(dir, 'evil.sh');
  fs.writeFileSync(
    script,
    [
      `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3)`,
      `if [ "$me" = ${bad} ]; then`,
      `  printf '${printfArg(ODD_STDOUT)}'`,
      `  printf '${printfArg(STDERR)}' >&2`,
      `  exit 3`,
      `fi`,
      `printf '${printfArg(STDOUT)}'`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  inv = path.join(dir, 'hosts.txt');
  fs.writeFileSync(inv, hosts.join('\n') + '\n');
});

const conn = (out: string): string[] => fleetArgs(scope, out);

/** herd with stdout and stderr as pipes, kept as bytes. */
function herdPiped(args: string[]): { code: number | null; stdout: Buffer; stderr: Buffer } {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: scope.home, NO_COLOR: '1' };
  delete env['SSH_AUTH_SOCK'];
  const r = spawnSync(HERD_BIN, args, { env, cwd: scope.home, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const runDirOf = (stderr: Buffer): string => /^results: (.+)$/m.exec(stderr.toString())![1]!.trim();

/** Bytes (as a latin1 string) that a terminal would act on, apart from tab and newline. */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]/;

describe('piped: output stays byte-exact, --json stays escaped', () => {
  it('keeps the exact bytes in stdout/<host> and stderr/<host>, and the controls in the piped grouped view', () => {
    const r = herdPiped(['run', '-i', inv, ...conn('runs-pipe'), `sh ${script}`]);
    expect(r.code).toBe(1);
    const dir = runDirOf(r.stderr);
    expect(fs.readFileSync(path.join(dir, 'stdout', hosts[0]!))).toEqual(STDOUT);
    expect(fs.readFileSync(path.join(dir, 'stdout', bad))).toEqual(ODD_STDOUT);
    expect(fs.readFileSync(path.join(dir, 'stderr', bad))).toEqual(STDERR);
    // The grouped view is a summary (indented, decoded), but a pipe gets the controls unchanged.
    expect(r.stdout.includes(Buffer.concat([Buffer.from('   '), PAYLOAD]))).toBe(true);
    expect(r.stdout.toString()).not.toContain('\\x1b');
    // The failure list's stderr excerpt too: exact on a pipe.
    expect(r.stderr.includes(Buffer.concat([Buffer.from('      | '), STDERR.subarray(0, -1), Buffer.from('\n')]))).toBe(
      true,
    );
  });

  it('--stream to a pipe writes each host line byte for byte (invalid UTF-8 included)', () => {
    const r = herdPiped(['run', '-i', inv, ...conn('runs-pipe-stream'), '--stream', `sh ${script}`]);
    expect(r.code).toBe(1);
    for (const h of hosts) expect(r.stdout.includes(Buffer.concat([Buffer.from(`${h}: `), STDOUT]))).toBe(true);
    expect(r.stdout.includes(Buffer.concat([Buffer.from(`${bad}: `), STDERR]))).toBe(true);
  });

  it('--json carries the output JSON-escaped: the same text back, no control character on the wire', () => {
    const r = herdPiped(['run', '-i', inv, ...conn('runs-json'), '--json', `sh ${script}`]);
    expect(r.code).toBe(1);
    expect(r.stdout.toString('latin1')).not.toMatch(RAW_CONTROL);
    const events = r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    const text = (host: string, stream: string): string =>
      events
        .filter((e) => e['kind'] === 'output' && e['host'] === host && e['stream'] === stream)
        .map((e) => e['text'])
        .join('');
    expect(text(hosts[0]!, 'stdout')).toBe(STDOUT.toString('utf8'));
    expect(text(bad, 'stderr')).toBe(STDERR.toString('utf8'));
  });

  it('herd show --host to a pipe prints the exact bytes; herd show --json stays escaped', () => {
    const dir = runDirOf(herdPiped(['run', '-i', inv, ...conn('runs-show-pipe'), `sh ${script}`]).stderr);
    const one = herdPiped(['show', dir, '--host', bad]);
    expect(one.code).toBe(0);
    expect(one.stdout).toEqual(ODD_STDOUT);
    expect(one.stderr).toEqual(STDERR);
    const json = herdPiped(['show', dir, '--host', bad, '--json']);
    expect(json.stdout.toString('latin1')).not.toMatch(RAW_CONTROL);
    const events = json.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(events.find((e) => e['stream'] === 'stdout')?.['text']).toBe(ODD_STDOUT.toString('utf8'));
  });
});

let term: Terminal;
/** Runs a shell line on a clean screen after a mark that must stay visible; the screen once it has ended. */
const inTerminal = (line: string): Promise<string> => term.run(`echo BEFORE-MARK; ${line}`);
const title = (): string => term.title();

const herdLine = (args: string): string => `HOME=${scope.home} ${HERD_BIN} ${args}`;

describe.runIf(hasTmux)('in a real terminal the host cannot drive it', () => {
  beforeAll(async () => {
    term = await openTerminal({ name: 'hostile', width: 400, height: 60, unset: ['NO_COLOR'], join: true });
  });
  afterAll(() => term?.close());

  it('the grouped view and the failure list show escapes, the title stays and the screen is not cleared', async () => {
    const before = title();
    const after = await inTerminal(herdLine(`run -i ${inv} ${conn('runs-tty').join(' ')} 'sh ${script}'`));
    expect(after).toContain('EXIT=1');
    expect(after).toContain('BEFORE-MARK');
    expect(after).toContain(`   ${SHOWN}\ufffdG`);
    expect(after).toContain('   odd\\x1b[2Jline');
    expect(after).toMatch(/1 failed: exit code 3/);
    expect(after).toContain('      | ERR\\x1b]0;err-title\\x07\\x1b[2Jstderr');
    expect(title()).toBe(before);
    expect(title()).not.toBe('pwned-title');
  });

  it("--stream shows each line escaped, stdout and stderr, with herd's own colours still working", async () => {
    const before = title();
    const after = await inTerminal(
      herdLine(`run -i ${inv} ${conn('runs-tty-stream').join(' ')} --stream 'sh ${script}'`),
    );
    expect(after).toContain('EXIT=1');
    expect(after).toContain('BEFORE-MARK');
    for (const h of hosts) expect(after).toContain(`${h}: ${SHOWN}\ufffdG`);
    expect(after).toContain(`${bad}: ERR\\x1b]0;err-title\\x07\\x1b[2Jstderr`);
    expect(title()).toBe(before);
    // herd's colour around the host name is a real escape the terminal acted on.
    const coloured = term.screen({ escapes: true });
    expect(coloured).toMatch(new RegExp(`\\x1b\\[\\d+m${hosts[0]!.replace(/\./g, '\\.')}\\x1b\\[(0|39)?m: A\\\\x1b`));
  });

  it('a failure reason that carries a remote file name is shown escaped', async () => {
    const tree = scratchDir('herd-hostile-tree-');
    fs.chmodSync(tree, 0o755);
    // A newline in the name would start a forged entry of the failure list.
    const name = 'f\x1b]0;pwned-title\x07\x1b[2Jname\n  7 ok: forged';
    fs.writeFileSync(path.join(tree, name), 'secret\n', { mode: 0o000 });
    fs.chmodSync(path.join(tree, name), 0o000);
    const dest = scratchDir('herd-hostile-dest-');
    const before = title();
    const after = await inTerminal(herdLine(`pull -i ${inv} ${conn('runs-tty-pull').join(' ')} ${tree} ${dest}`));
    expect(after).toContain('EXIT=1');
    expect(after).toContain('BEFORE-MARK');
    expect(after).toMatch(/3 failed: .*f\\x1b\]0;pwned-title\\x07\\x1b\[2Jname\\n {2}7 ok: forged/);
    expect(after).not.toMatch(/^\s*7 ok: forged/m);
    expect(title()).toBe(before);
  });

  it("a playbook consensus note quoting the hosts' outputs is shown escaped", async () => {
    const book = path.join(path.dirname(script), 'consensus.yml');
    const steps = [
      'steps:',
      '  - name: inspect',
      `    run: "sh ${script} || true"`,
      '    expect: { consensus: true }',
      '  - name: act',
      '    run: "true"',
    ];
    fs.writeFileSync(book, steps.join('\n') + '\n');
    const before = title();
    const after = await inTerminal(herdLine(`play -i ${inv} ${conn('runs-tty-play').join(' ')} ${book}`));
    expect(after).toContain('EXIT=1');
    expect(after).toContain('BEFORE-MARK');
    expect(after).toContain('HELD BACK');
    expect(after).toContain(`| ${SHOWN}`);
    expect(after).toContain('| odd\\x1b[2Jline');
    expect(title()).toBe(before);
  });

  it("an error quoting an inventory or -l @file built from hosts' output is shown escaped", async () => {
    // JSON.stringify in the message escapes C0 controls but leaves C1 (U+009B: CSI) and bidi ones.
    const built = path.join(path.dirname(script), 'from-output.txt');
    fs.writeFileSync(built, `${hosts[0]}\nweb\u202e1\u009b2J\n`);
    const bad = await inTerminal(herdLine(`run -i ${built} ${conn('runs-tty-inv').join(' ')} true`));
    expect(bad).toContain('EXIT=2');
    expect(bad).toContain('bad host name "web\\u202e1\\x9b2J"');
    const list = path.join(path.dirname(script), 'limit-from-output.txt');
    fs.writeFileSync(list, `${hosts[0]}\nweb\u202e9\n`);
    const limited = await inTerminal(herdLine(`run -i ${inv} ${conn('runs-tty-inv').join(' ')} -l @${list} true`));
    expect(limited).toContain('EXIT=2');
    expect(limited).toContain('bad host name "web\\u202e9"');
  });

  it('herd show and herd diff of the run show escapes; herd show --host escapes stdout and stderr', async () => {
    const dir = runDirOf(herdPiped(['run', '-i', inv, ...conn('runs-tty-show'), `sh ${script}`]).stderr);
    const before = title();
    const shown = await inTerminal(herdLine(`show ${dir}`));
    expect(shown).toContain('BEFORE-MARK');
    expect(shown).toContain(`   ${SHOWN}\ufffdG`);
    expect(shown).toContain('1 failed: exit code 3');
    const one = await inTerminal(herdLine(`show ${dir} --host ${bad}`));
    expect(one).toContain('BEFORE-MARK');
    expect(one).toContain(`${SHOWN}\ufffdG`);
    expect(one).toContain('odd\\x1b[2Jline');
    expect(one).toContain('ERR\\x1b]0;err-title\\x07\\x1b[2Jstderr');
    const diff = await inTerminal(herdLine(`diff ${dir}`));
    expect(diff).toContain('BEFORE-MARK');
    expect(diff).toContain('+odd\\x1b[2Jline');
    expect(title()).toBe(before);
  });
});
