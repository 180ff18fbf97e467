// The run report as one self-contained HTML page: no network (a CSP forbids it), inline style,
// one inline script allowed by its hash, the data embedded as JSON. Every string from the run
// directory goes through escapeHtml or jsonForScript. Pure.
import { createHash } from 'node:crypto';
import { countsChart, durationChart, histogram, quantile, seconds, statusColour } from './charts.js';
import { shellQuote } from '../../transport/remote-command.js';
import { CLIENT_SCRIPT } from './client.js';
import { escapeHtml as e, jsonForScript } from './escape.js';
import type { ReportData, ReportOutputGroup } from './model.js';

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#212121}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #ddd}
code,pre,.mono{font-family:ui-monospace,monospace;font-size:12.5px}
pre{background:#f6f6f6;padding:8px 10px;overflow:auto;max-height:360px;margin:6px 0;white-space:pre-wrap;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0} dt{color:#666}
dd{margin:0;word-break:break-all;white-space:pre-wrap}
.counts{list-style:none;padding:0;margin:6px 0;display:flex;gap:14px;flex-wrap:wrap}
.counts a{color:inherit;text-decoration:none} .dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
.chart text{font-size:12px;fill:#333} .charts{display:flex;gap:32px;flex-wrap:wrap}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top}
th[data-col]{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"} th[aria-sort=descending]::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums} td{word-break:break-all}
.st-ok td.status{color:#2e7d32} tr:not(.st-ok) td.status{color:#c62828;font-weight:600}
.controls{display:flex;gap:10px;align-items:center;margin:6px 0}
.del{color:#b71c1c} .add{color:#1b5e20} .hunk{color:#6a1b9a}
.group{margin:10px 0} .group h3{font-size:14px;margin:0} .step-output h3{font-size:15px;margin:18px 0 4px} .muted{color:#666}
`;

export function renderReport(d: ReportData): string {
  const script = CLIENT_SCRIPT;
  const hash = createHash('sha256').update(script).digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`;
  const total = d.hosts.length;
  const title = `herd ${d.command}: ${headline(d.what)}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // Our own constant (no quote mark of the attribute's kind in it): written as is.
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(`herd report ${d.id}`)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${e(title)}</h1>`,
    `<p class="muted">run <span class="mono">${e(d.id)}</span>, ${total} host${total === 1 ? '' : 's'}, ${e(d.state)}</p>`,
    runSection(d),
    summarySection(d),
    failuresSection(d),
    groupsSection(d),
    stepsSection(d),
    hostsSection(d),
    `<p class="muted">generated ${e(d.generatedAt)} by herd ${e(d.herdVersion)}</p>`,
    `<script type="application/json" id="herd-data">${jsonForScript({ hosts: d.hosts })}</script>`,
    `<script>${script}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

/** A multi-line script as a heading: its first line, cut; the Run section shows it whole. */
function headline(what: string): string {
  const lines = what.split('\n');
  const first = [...lines[0]!];
  const cut = first.length > 100 || lines.length > 1;
  return cut ? `${first.slice(0, 100).join('')} …` : what;
}

function runSection(d: ReportData): string {
  const rows: [string, string][] = [
    // Quoted as a shell would need it, so a multi-word argument reads as the one word it was.
    ['command line', ['herd', ...(d.argv.length > 0 ? d.argv : [d.command])].map(shellQuote).join(' ')],
    ['task', d.what],
    ['who', `${d.user}@${d.controller}`],
    ['where', d.cwd],
    ['started', d.startedAt],
    ['ended', d.endedAt ?? `(did not finish; last journal entry ${d.lastRecordAt ?? 'none'})`],
    ['inventory', d.inventories.join(', ') || '-'],
  ];
  if (d.limit !== null) rows.push(['limit', d.limit]);
  if (d.rerunOf !== null) rows.push(['rerun of', d.rerunOf]);
  const items = rows.map(([k, v]) => `<dt>${e(k)}</dt><dd class="mono">${e(v)}</dd>`).join('');
  return `<section id="run"><h2>Run</h2><dl>${items}</dl></section>`;
}

function summarySection(d: ReportData): string {
  const counts = d.counts
    .map(
      ([s, n]) =>
        `<li data-status="${e(s)}"><a href="#status=${encodeURIComponent(s)}">` +
        `<span class="dot" style="background:${statusColour(s)}"></span><b class="n">${n}</b> ${e(s)}</a></li>`,
    )
    .join('');
  const sorted = d.hosts.map((h) => h[3]).sort((a, b) => a - b);
  const quantiles = [0.5, 0.9, 0.99].map((q) => `p${q * 100} ${seconds(quantile(sorted, q))}`);
  const stats = sorted.length === 0 ? '' : `${quantiles.join(', ')}, max ${seconds(sorted.at(-1)!)}`;
  const slowest = [...d.hosts].sort((a, b) => b[3] - a[3]).slice(0, 5);
  const slow = slowest
    .map((h) => `<li><span class="mono">${e(h[0])}</span> ${seconds(h[3])} (${e(h[1])})</li>`)
    .join('');
  return (
    `<section id="summary"><h2>Hosts by status</h2><ul class="counts" id="counts">${counts}</ul>` +
    `<div class="charts"><div>${countsChart(d.counts)}</div>` +
    `<div><div class="muted">host durations: ${stats}</div>${durationChart(histogram(sorted))}` +
    `<div class="muted">slowest</div><ol>${slow}</ol></div></div></section>`
  );
}

function failuresSection(d: ReportData): string {
  if (d.failures.length === 0) return '';
  const body = d.failures.map((f) => `<pre class="failure">${e(f)}</pre>`).join('');
  const { groups, hosts } = d.hiddenFailures;
  const more = `… ${plural(groups, 'more failure group')} from ${plural(hosts, 'host')} (failed.txt; herd show)`;
  const tail = groups === 0 ? '' : `<p class="muted">${more}</p>`;
  return `<section id="failures"><h2>Failures by reason</h2>${body}${tail}</section>`;
}

function diffHtml(diff: string): string {
  return diff
    .split('\n')
    .map((l) => {
      const cls = l.startsWith('@@')
        ? 'hunk'
        : l.startsWith('+') && !l.startsWith('+++')
          ? 'add'
          : l.startsWith('-') && !l.startsWith('---')
            ? 'del'
            : '';
      return cls === '' ? e(l) : `<span class="${cls}">${e(l)}</span>`;
    })
    .join('\n');
}

function groupHtml(g: ReportOutputGroup, i: number, only: boolean): string {
  const role = only ? 'all hosts' : i === 0 ? 'majority' : 'DIFFERS';
  const exit = g.exitCode === null ? '' : `, exit ${g.exitCode}`;
  const more = g.truncated ? `<div class="muted">… ${g.bytes} bytes in all (stdout/&lt;host&gt;)</div>` : '';
  const output = g.bytes === 0 ? '<div class="muted">(no output)</div>' : `<pre>${e(g.preview)}</pre>${more}`;
  const same =
    g.diff === null && i > 0 ? '<div class="muted">same output as the majority, another exit code</div>' : '';
  const diff =
    g.diff === null
      ? same
      : `<details><summary>diff against the majority</summary><pre class="diff">${diffHtml(g.diff)}</pre></details>`;
  return (
    `<div class="group" data-role="${role}"><h3>${role}: ${g.hosts} host${g.hosts === 1 ? '' : 's'}${exit}</h3>` +
    `<div class="mono">${e(g.folded)}</div>${output}${diff}</div>`
  );
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function groupsHtml(groups: ReportOutputGroup[], hidden: { outputs: number; hosts: number }): string {
  const body = groups.map((g, i) => groupHtml(g, i, groups.length === 1)).join('');
  const { outputs, hosts } = hidden;
  const more = `… ${plural(outputs, 'more distinct output')} from ${plural(hosts, 'host')} (output.log)`;
  return outputs === 0 ? body : `${body}<p class="muted">${more}</p>`;
}

function groupsSection(d: ReportData): string {
  if (d.groups.length === 0) return '';
  return `<section id="outputs"><h2>Output groups</h2>${groupsHtml(d.groups, d.hiddenGroups)}</section>`;
}

function stepsSection(d: ReportData): string {
  if (d.steps.length === 0) return '';
  const rows = d.steps
    .map((s) => {
      const counts = s.counts.map(([st, n]) => `${n} ${e(st)}`).join(', ');
      return `<tr><td class="mono">${e(s.key)}</td><td>${e(s.name)}</td><td>${counts}</td></tr>`;
    })
    .join('');
  const outputs = d.steps
    .filter((s) => s.groups.length > 0)
    .map((s) => {
      const title = `<h3>step ${e(s.key)} (${e(s.name)}): output</h3>`;
      return `<div class="step-output" data-step="${e(s.key)}">${title}${groupsHtml(s.groups, s.hiddenGroups)}</div>`;
    })
    .join('');
  const table = `<table><thead><tr><th>step</th><th>name</th><th>hosts</th></tr></thead><tbody>${rows}</tbody></table>`;
  return `<section id="steps"><h2>Steps</h2>${table}${outputs}</section>`;
}

function hostsSection(d: ReportData): string {
  const statuses = d.counts.map(([s, n]) => `<option value="${e(s)}">${e(s)} (${n})</option>`);
  const options = [`<option value="">all statuses</option>`, ...statuses].join('');
  const head = ['host', 'status', 'exit', 'duration', 'reason', 'step']
    .map((col) => `<th data-col="${col}" aria-sort="none">${col}</th>`)
    .join('');
  return (
    `<section id="hosts"><h2>Hosts</h2><div class="controls">` +
    `<label>status <select id="f-status">${options}</select></label>` +
    `<label>host or reason <input id="f-q" type="search" size="30"></label>` +
    `<button id="page-prev" type="button">‹ prev</button><button id="page-next" type="button">next ›</button>` +
    `<span id="host-info" class="muted">the host table needs JavaScript; hosts.tsv holds the same rows</span></div>` +
    `<table><thead><tr>${head}</tr></thead><tbody id="host-rows"></tbody></table></section>`
  );
}
