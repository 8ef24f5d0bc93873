import { CORRECTNESS_HEADER, correctnessRows, ENDPOINT_HEADER, ENDPOINT_TITLES, endpointRows, runSummary } from './markdown.ts';
import { ENDPOINTS, type Report } from './model.ts';
import { escapeXml, lineChart } from './svg.ts';

function table(header: string[], rows: string[][]): string {
  const head = `<tr>${header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`).join('');
  return `<table>${head}${body}</table>`;
}

/** The report as one self-contained HTML page: tables, and per endpoint throughput and latency over time as inline SVG. */
export function renderHtml(r: Report): string {
  const charts: string[] = [];
  for (const e of ENDPOINTS) {
    const series = r.endpoints[e].series;
    const xs = series.map((s) => s.t);
    charts.push(`<h3>${escapeXml(ENDPOINT_TITLES[e])}</h3><div class="row">`);
    charts.push(
      lineChart({
        title: `${ENDPOINT_TITLES[e]} — requests per second`,
        xs,
        xLabel: 'seconds since start',
        yLabel: 'requests/s',
        lines: [
          { name: 'sent', color: '#1f77b4', values: series.map((s) => s.sent) },
          { name: '2xx', color: '#2ca02c', values: series.map((s) => s.ok) },
          { name: 'failed', color: '#d62728', values: series.map((s) => s.failed) },
          { name: 'dropped', color: '#ff7f0e', values: series.map((s) => s.dropped) },
        ],
      }),
    );
    charts.push(
      lineChart({
        title: `${ENDPOINT_TITLES[e]} — latency of the answers ending each second`,
        xs,
        xLabel: 'seconds since start',
        yLabel: 'ms (log scale)',
        log: true,
        lines: [
          { name: 'p50', color: '#2ca02c', values: series.map((s) => s.p50) },
          { name: 'p99', color: '#ff7f0e', values: series.map((s) => s.p99) },
          { name: 'max', color: '#d62728', values: series.map((s) => s.max) },
        ],
      }),
    );
    charts.push('</div>');
  }
  const examples = (['profiles', 'aggregates'] as const)
    .flatMap((k) => r.correctness[k].examples.map((x) => `<li><code>${escapeXml(x.request)}</code> — ${escapeXml(x.verdict)}</li>`))
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>usertags tester report</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:1500px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}
.row{display:flex;flex-wrap:wrap;gap:16px}code{font-size:12px;word-break:break-all}
</style></head><body>
<h1>usertags tester report</h1>
<p>Started ${escapeXml(r.startedAt)}. ${escapeXml(runSummary(r))}</p>
<h2>Correctness</h2>
${table(CORRECTNESS_HEADER, correctnessRows(r))}
${examples === '' ? '' : `<p>First wrong or failed answers:</p><ul>${examples}</ul>`}
<h2>Endpoints</h2>
${table(ENDPOINT_HEADER, endpointRows(r))}
<p>The scheduler issued its slots at most ${r.workload.maxSchedulerLagMs} ms late.</p>
<h2>Over time</h2>
${charts.join('\n')}
</body></html>
`;
}
