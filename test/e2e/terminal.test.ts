// The live display and the final view in a real terminal: herd runs inside tmux, and the test
// reads the screen with capture-pane during and after the run, and after Ctrl-C.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGate } from './gate.js';
import { HERD_BIN, scratchDir, useLoopbackFleet } from './herd-cli.js';
import { hasTmux, openTerminal, type Terminal } from './tmux.js';

const scope = useLoopbackFleet();
describe.runIf(hasTmux)('in a real terminal', () => {
  let term: Terminal;
  beforeAll(async () => {
    term = await openTerminal({ name: 'terminal', width: 150, height: 45 });
  });
  afterAll(() => term?.close());

  it('draws live counts while running, then the folded groups and summary, with no escape garbage', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(30, 1800);
    const inv = path.join(home, 'tty.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    // The commands hold on a gate until the live counts are on screen (no sleep to outlast the screen poll).
    const hold = openGate();
    const remote = `'${hold.command('echo same').replace(/'/g, `'\\''`)}'`;
    const cmd = `HOME=${home} ${HERD_BIN} run -i ${inv} -u ${fleet.user} -p ${fleet.port} -k ${fleet.keyPath} --known-hosts ${home}/kh -o ${home}/runs -f 10 ${remote}; echo "EXIT=$?"`;
    term.send(cmd);
    let during: string;
    try {
      during = await term.waitFor((s) => /herd \d+\/30 .*running \d+/.test(s), 60_000);
    } finally {
      hold.release();
    }
    expect(during).toMatch(/hosts\/s\s+elapsed \d+s\s+eta/);
    const after = await term.waitFor((s) => /^EXIT=\d+$/m.test(s), 30_000);
    expect(after).toContain('EXIT=0');
    expect(after).toMatch(/==== 30 hosts exit 0: 127\.0\.\d+\.\[\d+-\d+\]/);
    expect(after).toContain('30 hosts: 30 ok');
    // The live area was cleared, not left behind, and no raw escape sequence leaked as text.
    expect(after).not.toMatch(/herd \d+\/30 /);
    expect(after).not.toMatch(/\[2K|\x1b/);
  });

  it('after Ctrl-C twice the run stops, records interrupted hosts, and the shell gets its terminal back', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(6, 1850);
    const inv = path.join(home, 'tty-int.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    term.send('clear');
    const cmd = `HOME=${home} ${HERD_BIN} run -i ${inv} -u ${fleet.user} -p ${fleet.port} -k ${fleet.keyPath} --known-hosts ${home}/kh -o ${home}/runs-int 'sleep 30'; echo "EXIT=$?"`;
    term.send(cmd);
    await term.waitFor((s) => /running 6/.test(s), 15_000);
    term.keys('C-c');
    await term.waitFor((s) => s.includes('starting no new hosts'), 5_000);
    term.keys('C-c');
    const after = await term.waitFor((s) => /^EXIT=\d+$/m.test(s), 15_000);
    expect(after).toContain('EXIT=130');
    expect(after).toContain('6 hosts: 6 interrupted');
    term.send('echo typed-after');
    const back = await term.waitFor((s) => /^typed-after$/m.test(s), 5_000);
    expect(back).not.toMatch(/\[2K|\x1b/);
  });

  it('asks for a key passphrase on the terminal without echoing it, then logs in with the key', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(2, 1890);
    const inv = path.join(home, 'tty-key.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const key = path.join(scratchDir('herd-tty-key-'), 'id_enc');
    const secret = 'tty passphrase 42';
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', secret, '-f', key]);
    fs.appendFileSync(path.join(fleet.dir, 'authorized_keys'), fs.readFileSync(`${key}.pub`));
    term.send('clear');
    const cmd = `HOME=${home} ${HERD_BIN} run -i ${inv} -u ${fleet.user} -p ${fleet.port} -k ${key} --ask-key-passphrase --known-hosts ${home}/kh -o ${home}/runs-key 'echo keyed-in'; echo "EXIT=$?"`;
    term.send(cmd);
    await term.waitFor((s) => s.includes('Key passphrase:'), 10_000);
    term.type(secret);
    term.keys('Enter');
    const after = await term.waitFor((s) => /^EXIT=\d+$/m.test(s), 20_000);
    expect(after).toContain('EXIT=0');
    expect(after).toContain('2 hosts: 2 ok');
    expect(after).not.toContain(secret);
  });

  it('shows files and bytes done out of those found while a pull runs', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(4, 1870);
    const inv = path.join(home, 'tty-pull.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const tree = scratchDir('herd-tty-tree-');
    fs.chmodSync(tree, 0o755);
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(tree, `f${i}`), `file ${i}\n`);
    fs.writeFileSync(path.join(tree, 'big.bin'), Buffer.alloc(120 * 1024 * 1024, 7));
    const dest = scratchDir('herd-tty-dest-');
    term.send('clear');
    const cmd = `HOME=${home} ${HERD_BIN} pull -i ${inv} -u ${fleet.user} -p ${fleet.port} -k ${fleet.keyPath} --known-hosts ${home}/kh -o ${home}/runs-pull -f 1 ${tree} ${dest}; echo "EXIT=$?"`;
    term.send(cmd);
    const during = await term.waitFor((s) => /files \d+\/[1-9]\d*\s+[\d.]+\/[\d.]+ MB\s+[\d.]+ MB\/s/.test(s), 20_000);
    const [, done, found] = /files (\d+)\/(\d+)/.exec(during)!;
    expect(Number(done)).toBeLessThanOrEqual(Number(found));
    expect(Number(found)).toBeGreaterThan(0);
    const after = await term.waitFor((s) => /^EXIT=\d+$/m.test(s), 60_000);
    expect(after).toContain('EXIT=0');
    expect(fs.statSync(path.join(dest, hosts[3]!, 'big.bin')).size).toBe(120 * 1024 * 1024);
  });

  it('colours the host names of --stream lines, on run and play, and --no-color leaves them plain', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(2, 1900);
    const inv = path.join(home, 'tty-colour.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const book = path.join(home, 'tty-colour.yml');
    fs.writeFileSync(book, '- steps:\n    - run: echo played\n');
    const base = `env -u NO_COLOR HOME=${home} ${HERD_BIN}`;
    const conn = `-i ${inv} -u ${fleet.user} -p ${fleet.port} -k ${fleet.keyPath} --known-hosts ${home}/kh -o ${home}/runs-colour -q --stream`;
    const coloured = (text: string, word: string) =>
      hosts.every((h) => new RegExp(`\x1b\\[\\d+m${h.replace(/\./g, '\\.')}\x1b\\[(0|39)?m: ${word}`).test(text));
    for (const [what, word] of [
      [`run ${conn} 'echo ran'`, 'ran'],
      [`play ${conn} ${book}`, '\\[1\\.1\\] played'],
    ] as const) {
      for (const flag of ['', '--no-color']) {
        term.send('clear');
        term.send(`${base} ${what.replace('--stream', `--stream ${flag}`)}; echo "EXIT=$?"`);
        await term.waitFor((s) => /^EXIT=\d+$/m.test(s), 20_000);
        const text = term.screen({ escapes: true });
        expect(text).toContain('EXIT=0');
        for (const h of hosts) expect(text).toContain(`${h}`);
        expect(coloured(text, word), text).toBe(flag === '');
      }
    }
  });
});
