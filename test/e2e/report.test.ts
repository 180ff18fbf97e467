// herd report: the HTML report of a real run on the loopback fleet (ok, failed, unreachable hosts,
// one host printing markup), loaded in headless Chromium: the counts it shows, the host filter
// read from the URL hash, nothing from a host executing, and a screenshot in test-output/report/.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { refusedPort } from '../fleet/faults.js';
import { foldHosts } from '../../src/report/fold.js';
import { chromium } from './chromium.js';
import { ROOT, runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();
const OUT = path.join(ROOT, 'test-output', 'report');

/** The host rows of the table as the page's script rendered them: [host, status]. */
function tableRows(dom: string): string[][] {
  const body = /<tbody id="host-rows">([\s\S]*?)<\/tbody>/.exec(dom)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*><td>([^<]*)<\/td><td class="status">([^<]*)<\/td>/g)].map((m) => [m[1]!, m[2]!]);
}

describe('herd report', () => {
  it('shows the counts, filters hosts from the URL hash, runs nothing a host printed', async () => {
    const { fleet, home } = scope;
    const [a, b, evil, bad] = fleet.hosts(4, 3300);
    const refused = await refusedPort();
    const down = `${refused.host}:${refused.port}`;
    const inv = path.join(home, 'report.txt');
    fs.writeFileSync(inv, [a, b, evil, bad, down].join('\n') + '\n');
    // Markup that would set an attribute on <body> if it ever ran; the name is split so the
    // escaped text shown in the page never spells it.
    const run = (id: string): string => `document.body.dataset[\`pw\`+\`ned\`]=\`${id}\``;
    const cmd = [
      `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3)`,
      `case "$me" in`,
      `  ${evil}) printf '%s\\n' '</script><img src=x onerror="${run('img')}"><script>${run('script')}</script>' ;;`,
      `  ${bad}) echo same; echo '</pre><script>${run('stderr')}</script>' >&2; exit 3 ;;`,
      `  *) echo same ;;`,
      `esac`,
    ].join('\n');
    const conn = [
      '--no-progress',
      '-u',
      fleet.user,
      '-p',
      String(fleet.port),
      '-k',
      fleet.keyPath,
      '--known-hosts',
      path.join(home, 'kh'),
    ];
    const r = await runHerd(['run', '-i', inv, ...conn, '-o', path.join(home, 'runs'), cmd], { env: { HOME: home } });
    expect(r.code).toBe(1);
    const dir = runDirOf(r);

    fs.mkdirSync(OUT, { recursive: true });
    const file = path.join(OUT, 'report.html');
    const rep = await runHerd(['report', path.basename(dir), '--runs-dir', path.join(home, 'runs'), '-o', file], {
      env: { HOME: home },
    });
    expect(rep.stderr).toBe('');
    expect(rep.code).toBe(0);
    expect(rep.stdout).toBe(`${file}\n`);

    const profile = path.join(home, 'chromium');
    const dom = (await chromium(`file://${file}`, ['--dump-dom'], profile)).stdout;
    // Nothing a host printed ran (it would have set data-pwned on <body>).
    expect(dom).not.toContain('data-pwned');
    const count = (s: string): string | undefined =>
      new RegExp(`<li data-status="${s}">.*?<b class="n">(\\d+)</b>`).exec(dom)?.[1];
    expect([count('ok'), count('failed'), count('unreachable')]).toEqual(['3', '1', '1']);
    expect(dom).toMatch(/<span id="host-info"[^>]*data-matching="5">5 of 5 hosts match; page 1 of 1</);
    expect(tableRows(dom).sort()).toEqual(
      [
        [a!, 'ok'],
        [b!, 'ok'],
        [evil!, 'ok'],
        [bad!, 'failed'],
        [down, 'unreachable'],
      ].sort(),
    );
    // The host's markup is on the page as text.
    expect(dom).toContain('&lt;/script&gt;&lt;img src=x onerror=');
    expect(dom).toContain('connection refused');

    const failed = (await chromium(`file://${file}#status=failed`, ['--dump-dom'], profile)).stdout;
    expect(tableRows(failed)).toEqual([[bad!, 'failed']]);
    expect(failed).toMatch(/data-matching="1">1 of 5 hosts match/);
    expect(failed).not.toContain('data-pwned');

    const slowFirst = (await chromium(`file://${file}#sort=duration&desc=1`, ['--dump-dom'], profile)).stdout;
    const durations = [...slowFirst.matchAll(/<td class="num">([\d.]+) s<\/td>/g)].map((m) => Number(m[1]));
    expect(durations).toHaveLength(5);
    expect(durations).toEqual([...durations].sort((x, y) => y - x));
    const byText = (await chromium(`file://${file}#q=refused`, ['--dump-dom'], profile)).stdout;
    expect(tableRows(byText)).toEqual([[down, 'unreachable']]);

    // A status no host has selects nothing (it does not fall back to every host).
    const none = (await chromium(`file://${file}#status=timeout`, ['--dump-dom'], profile)).stdout;
    expect(tableRows(none)).toEqual([]);
    expect(none).toMatch(/data-matching="0">0 of 5 hosts match/);
    expect(none).toContain('<option value="timeout">timeout (0)</option>');

    const png = path.join(OUT, 'report.png');
    fs.rmSync(png, { force: true });
    await chromium(`file://${file}`, [`--screenshot=${png}`, '--window-size=1280,2000', '--hide-scrollbars'], profile);
    expect(fs.readFileSync(png).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    await refused.close();
  }, 180_000);

  it("a playbook run: per-step counts and each step's output groups, majority and minority", async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(4, 3320);
    const odd = hosts[2]!;
    const inv = path.join(home, 'report-play.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const me = `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3)`;
    const inspect = `${me}; if [ "$me" = ${odd} ]; then echo sdm; else echo sda; fi`;
    const mount = `${me}; if [ "$me" = ${hosts[3]} ]; then echo 'mount: busy' >&2; exit 32; fi; echo mounted`;
    const book = path.join(home, 'report.yml');
    const steps = [
      'steps:',
      '  - name: inspect disks',
      `    run: ${JSON.stringify(inspect)}`,
      '  - name: mount',
      `    run: ${JSON.stringify(mount)}`,
    ];
    fs.writeFileSync(book, steps.join('\n') + '\n');
    const conn = [
      '--no-progress',
      '-u',
      fleet.user,
      '-p',
      String(fleet.port),
      '-k',
      fleet.keyPath,
      '--known-hosts',
      path.join(home, 'kh'),
    ];
    const r = await runHerd(['play', '-i', inv, ...conn, '-o', path.join(home, 'runs-play'), book], {
      env: { HOME: home },
    });
    expect(r.code).toBe(1);
    const dir = runDirOf(r);
    const rep = await runHerd(['report', dir], { env: { HOME: home } });
    expect(rep.code).toBe(0);
    const file = path.join(dir, 'report.html');
    expect(rep.stdout).toBe(`${file}\n`);

    const dom = (await chromium(`file://${file}`, ['--dump-dom'], path.join(home, 'chromium'))).stdout;
    const esc = (key: string): string => key.replace('.', '\\.');
    const stepRow = (key: string): string | undefined =>
      new RegExp(`<tr><td class="mono">${esc(key)}</td><td>([^<]*)</td><td>([^<]*)</td></tr>`)
        .exec(dom)
        ?.slice(1)
        .join(': ');
    expect(stepRow('1.1')).toBe('inspect disks: 4 changed');
    expect(stepRow('1.2')).toBe('mount: 3 changed, 1 failed');
    // One step's output block: up to the next step's block or the end of the section.
    const step = (key: string): string =>
      new RegExp(
        `<div class="step-output" data-step="${esc(key)}">([\\s\\S]*?)</div></div>(?=<div class="step-output"|</section>)`,
      ).exec(dom)?.[1] ?? '';
    const inspected = step('1.1');
    const same = foldHosts(hosts.filter((h) => h !== odd));
    expect(inspected).toContain(`majority: 3 hosts, exit 0</h3><div class="mono">${same}</div><pre>sda\n</pre>`);
    expect(inspected).toContain(`DIFFERS: 1 host, exit 0</h3><div class="mono">${odd}</div><pre>sdm\n</pre>`);
    expect(inspected).toMatch(
      /<pre class="diff">[\s\S]*<span class="del">-sda<\/span>\n<span class="add">\+sdm<\/span>/,
    );
    const mounted = step('1.2');
    expect(mounted).toContain(
      `majority: 3 hosts, exit 0</h3><div class="mono">${foldHosts(hosts.slice(0, 3))}</div><pre>mounted\n</pre>`,
    );
    expect(mounted).toContain(
      `DIFFERS: 1 host, exit 32</h3><div class="mono">${hosts[3]}</div><div class="muted">(no output)</div>`,
    );
    expect(tableRows(dom).find(([h]) => h === hosts[3])).toEqual([hosts[3], 'failed']);
  }, 180_000);

  it('refuses an -o it cannot write before reading anything, naming the flag (exit 2)', async () => {
    const missing = await runHerd(['report', 'latest', '-o', '/nonexistent-dir/r.html'], { cwd: scope.home });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('herd: -o /nonexistent-dir/r.html: no directory /nonexistent-dir to write it in\n');
    const isDir = await runHerd(['report', 'latest', '-o', scope.home], { cwd: scope.home });
    expect(isDir.code).toBe(2);
    expect(isDir.stderr).toBe(`herd: -o ${scope.home}: is a directory; -o names the report file\n`);
    const noRun = await runHerd(['report', 'nope', '--runs-dir', scope.home], { cwd: scope.home });
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toContain(`herd: no run found at ${path.join(scope.home, 'nope')}`);
  });
});
