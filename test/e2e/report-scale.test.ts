// herd report for 10,000 hosts stays small and fast: a run directory written by the real RunWriter,
// the report made by the CLI, loaded in headless Chromium with 100 host rows a page.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLargeRun } from '../fleet/large-run.js';
import { chromium } from './chromium.js';
import { removeScratchDirs, runHerd, scratchDir } from './herd-cli.js';

afterAll(removeScratchDirs);

describe('herd report at 10,000 hosts', () => {
  it('is under 1 MiB, and the page holds one page of 100 rows, filtered and paged from the URL', async () => {
    const home = scratchDir();
    const dir = writeLargeRun(path.join(home, 'runs'), 10_000);
    const rep = await runHerd(['report', dir], { cwd: home, timeoutMs: 120_000 });
    expect(rep.code).toBe(0);
    const file = path.join(dir, 'report.html');
    expect(fs.statSync(file).size).toBeLessThan(1024 * 1024);

    const profile = path.join(home, 'chromium');
    const dom = (await chromium(`file://${file}`, ['--dump-dom'], profile)).stdout;
    const count = (s: string): string | undefined =>
      new RegExp(`<li data-status="${s}">.*?<b class="n">(\\d+)</b>`).exec(dom)?.[1];
    expect([count('ok'), count('failed'), count('unreachable')]).toEqual(['9700', '200', '100']);
    expect(dom).toContain('data-matching="10000">10000 of 10000 hosts match; page 1 of 100<');
    expect(dom.match(/<tr class="st-/g)).toHaveLength(100);
    expect(dom).toContain('majority: 9650 hosts, exit 0');
    expect(dom).toContain('DIFFERS: 50 hosts, exit 0');

    const failed = (await chromium(`file://${file}#status=failed&page=2`, ['--dump-dom'], profile)).stdout;
    expect(failed).toContain('data-matching="200">200 of 10000 hosts match; page 2 of 2<');
    expect(failed.match(/<tr class="st-failed"/g)).toHaveLength(100);
    expect(failed.match(/<tr class="st-/g)).toHaveLength(100);
  }, 240_000);
});
