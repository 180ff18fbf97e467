// The HTML report page: hostile text stays text, the page can reach no network, host rows are embedded as data.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ReportData } from '../../../../src/report/html/model.js';
import { renderReport } from '../../../../src/report/html/render.js';

const EVIL = '</script><script>alert(1)</script><img src=x onerror=alert(2)><!--\u2028"\'&';

function data(overrides: Partial<ReportData> = {}): ReportData {
  return {
    id: '20261127T120000.000Z-abcd',
    herdVersion: '0.1.0',
    command: 'run',
    what: EVIL,
    argv: ['run', '-i', 'x.txt', EVIL],
    user: EVIL,
    controller: 'ctl',
    cwd: '/w',
    inventories: [EVIL],
    limit: EVIL,
    rerunOf: null,
    state: 'done',
    startedAt: '2026-11-27T12:00:00.000Z',
    endedAt: '2026-11-27T12:00:01.000Z',
    lastRecordAt: '2026-11-27T12:00:01.000Z',
    counts: [
      ['ok', 1],
      ['failed', 1],
    ],
    hosts: [
      [EVIL, 'ok', 0, 10, '', ''],
      ['h2', 'failed', 1, 20, EVIL, '1.2'],
    ],
    failures: [`  1 failed: ${EVIL}`],
    hiddenFailures: { groups: 0, hosts: 0 },
    groups: [
      { hosts: 1, folded: EVIL, exitCode: 0, preview: EVIL, bytes: EVIL.length, truncated: false, diff: null },
      { hosts: 1, folded: 'h2', exitCode: 1, preview: 'x', bytes: 1, truncated: false, diff: `-${EVIL}\n+x` },
    ],
    hiddenGroups: { outputs: 0, hosts: 0 },
    steps: [{ key: '1.2', name: EVIL, counts: [['failed', 1]], groups: [], hiddenGroups: { outputs: 0, hosts: 0 } }],
    generatedAt: '2026-11-27T12:00:02.000Z',
    ...overrides,
  };
}

describe('renderReport', () => {
  const html = renderReport(data());

  it('has exactly its own two script elements and no element or handler a host wrote', () => {
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<!--');
  });

  it('forbids network access and allows only its own script, by hash', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    expect(csp).toMatch(/^default-src 'none'; /);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const hash = createHash('sha256').update(script).digest('base64');
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
    expect(csp).not.toContain('unsafe-eval');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('shows the command line quoted as a shell needs it, a multi-word argument as one word', () => {
    const page = renderReport(data({ argv: ['run', '-i', 'x.txt', "df -h /; echo 'done'"] }));
    expect(page).toContain(
      `<dd class="mono">herd run -i x.txt &#39;df -h /; echo &#39;\\&#39;&#39;done&#39;\\&#39;&#39;&#39;</dd>`,
    );
  });

  it('embeds every host row as JSON that parses back', () => {
    const json = /<script type="application\/json" id="herd-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(json)).toEqual({ hosts: data().hosts });
  });

  it('does not render 10,000 host rows into the page: the table is filled a page at a time', () => {
    const hosts = Array.from({ length: 10_000 }, (_, i): ReportData['hosts'][number] => [
      `10.0.${i >> 8}.${i & 255}`,
      'ok',
      0,
      i,
      '',
      '',
    ]);
    const big = renderReport(data({ hosts, counts: [['ok', 10_000]] }));
    expect(big.match(/<tr/g)?.length ?? 0).toBeLessThan(20);
    expect(big.length).toBeLessThan(700_000);
  });
});
