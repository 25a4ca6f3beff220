/**
 * The experiment report: mean ± sd of test F1 per strategy and human budget, per-type F1, the teacher's own
 * F1, and plots (F1 against human budget; learning curves) drawn by Chart.js, inlined so the HTML file
 * works offline and on its own. The same table prints to the terminal. An experiment with a selection axis
 * gets report-selection.ts's table and SVG plots instead of the by-budget ones.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RunResult } from './results.js';

export interface Cell {
  n: number;
  mean: number;
  sd: number;
  values: number[];
}

export interface Summary {
  budgets: number[];
  strategies: string[];
  /** `${budget}|${strategy}` → test F1 over seeds */
  f1: Map<string, Cell>;
  /** `${budget}|${strategy}|${type}` → test F1 over seeds */
  typeF1: Map<string, Cell>;
  types: string[];
  /** budget → the teacher's F1 over seeds */
  teacherF1: Map<number, Cell>;
}

export function cell(values: number[]): Cell {
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, sd, values };
}

export function summarise(results: RunResult[], strategyOrder?: string[]): Summary {
  const budgets = [...new Set(results.map((r) => r.budget))].sort((a, b) => a - b);
  const seen = [...new Set(results.map((r) => r.strategy))];
  const strategies = strategyOrder
    ? [...strategyOrder.filter((s) => seen.includes(s as never)), ...seen.filter((s) => !strategyOrder.includes(s))]
    : seen;
  const types = [...new Set(results.flatMap((r) => Object.keys(r.test.types)))].sort();
  const group = <K>(keyOf: (r: RunResult) => K[], valueOf: (r: RunResult, k: K) => number | undefined) => {
    const m = new Map<K, number[]>();
    for (const r of [...results].sort((a, b) => a.seed - b.seed))
      for (const k of keyOf(r)) {
        const v = valueOf(r, k);
        if (v !== undefined && Number.isFinite(v)) m.set(k, [...(m.get(k) ?? []), v]);
      }
    return new Map([...m].map(([k, v]) => [k, cell(v)]));
  };
  const f1 = group(
    (r) => [`${r.budget}|${r.strategy}`],
    (r) => r.test.f1,
  );
  const typeF1 = group(
    (r) => types.map((t) => `${r.budget}|${r.strategy}|${t}`),
    (r, k) => r.test.types[k.split('|')[2]!]?.f1,
  );
  // the teacher's F1 is a property of (budget, seed): count each seed once
  const teacherBySeed = new Map<string, number>();
  for (const r of results) if (r.teacher) teacherBySeed.set(`${r.budget}|${r.seed}`, r.teacher.f1);
  const teacherF1 = new Map<number, Cell>();
  for (const b of budgets) {
    const vals = [...teacherBySeed].filter(([k]) => Number(k.split('|')[0]) === b).map(([, v]) => v);
    if (vals.length) teacherF1.set(b, cell(vals));
  }
  return { budgets, strategies, f1, typeF1, types, teacherF1 };
}

const pct = (x: number) => (100 * x).toFixed(1);
export const formatCell = (c: Cell | undefined) =>
  c ? `${pct(c.mean)} ± ${pct(c.sd)}${c.n < 2 ? ` (n=${c.n})` : ''}` : '—';
export const formatBudget = (b: number) => (b <= 1 ? `${+(100 * b).toFixed(2)}%` : `${b} sent.`);

/** Plain-text table for the terminal: one row per budget, one column per strategy, teacher F1 last. */
export function formatTable(s: Summary): string {
  const header = ['human budget', ...s.strategies, 'teacher F1'];
  const rows = s.budgets.map((b) => [
    formatBudget(b),
    ...s.strategies.map((st) => formatCell(s.f1.get(`${b}|${st}`))),
    formatCell(s.teacherF1.get(b)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  // the UMD build is not in chart.js's "exports"; it sits beside the main entry (dist/chart.cjs)
  return readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

export interface ReportMeta {
  title: string;
  /** shown prominently, e.g. that the teacher was the simulator */
  notes: string[];
  config?: unknown;
  /**
   * an experiment with a selection axis: this section (report-selection.ts) replaces the table and plots by
   * budget, and the per-type table and learning curves (which would mix selections) are left out
   */
  selectionHtml?: string;
}

export function renderHtml(results: RunResult[], meta: ReportMeta, strategyOrder?: string[]): string {
  const s = summarise(results, strategyOrder);
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf'];
  const colour = (i: number) => palette[i % palette.length]!;

  const mainRows = s.budgets
    .map((b) => {
      const cells = s.strategies.map((st) => `<td>${esc(formatCell(s.f1.get(`${b}|${st}`)))}</td>`).join('');
      return `<tr><th>${esc(formatBudget(b))}</th>${cells}<td>${esc(formatCell(s.teacherF1.get(b)))}</td></tr>`;
    })
    .join('\n');
  const typeRows = s.budgets
    .flatMap((b) =>
      s.strategies.map(
        (st) =>
          `<tr><th>${esc(formatBudget(b))}</th><th>${esc(st)}</th>${s.types.map((t) => `<td>${esc(formatCell(s.typeF1.get(`${b}|${st}|${t}`)))}</td>`).join('')}</tr>`,
      ),
    )
    .join('\n');

  const budgetChart = {
    type: 'line',
    data: {
      labels: s.budgets.map(formatBudget),
      datasets: s.strategies.flatMap((st, i) => [
        {
          label: `${st} (mean)`,
          data: s.budgets.map((b) => pctNum(s.f1.get(`${b}|${st}`)?.mean)),
          borderColor: colour(i),
          backgroundColor: colour(i),
          tension: 0,
        },
        {
          label: `${st} (seeds)`,
          type: 'scatter',
          data: s.budgets.flatMap((b, bi) =>
            (s.f1.get(`${b}|${st}`)?.values ?? []).map((v) => ({ x: bi, y: pctNum(v) })),
          ),
          borderColor: colour(i),
          backgroundColor: colour(i) + '66',
          pointRadius: 3,
        },
      ]),
    },
    options: {
      scales: {
        y: { beginAtZero: true, title: { display: true, text: 'test F1 (%)' } },
        x: { type: 'category', title: { display: true, text: 'human-label budget' } },
      },
    },
  };
  if (s.teacherF1.size) {
    budgetChart.data.datasets.push({
      label: 'teacher (its own labels)',
      data: s.budgets.map((b) => pctNum(s.teacherF1.get(b)?.mean)),
      borderColor: '#000',
      backgroundColor: '#000',
      tension: 0,
      borderDash: [6, 4],
    } as never);
  }

  const curves = s.budgets.map((b) => {
    const datasets = s.strategies.map((st, i) => {
      const runs = results.filter((r) => r.budget === b && r.strategy === st).sort((x, y) => x.seed - y.seed);
      const first = runs[0];
      return {
        label: `${st}${first ? ` (seed ${first.seed})` : ''}`,
        data: (first?.curve ?? []).map((p, j) => ({ x: j + 1, y: pctNum(p.devF1) })),
        borderColor: colour(i),
        backgroundColor: colour(i),
        tension: 0,
      };
    });
    return {
      budget: b,
      config: {
        type: 'line',
        data: { datasets },
        options: {
          parsing: true,
          scales: {
            x: { type: 'linear', title: { display: true, text: 'evaluation (epoch, across phases)' } },
            y: { beginAtZero: true, title: { display: true, text: 'dev F1 (%)' } },
          },
        },
      },
    };
  });

  const sel = meta.selectionHtml !== undefined;
  const byBudget = `<h2>Test F1 (%): mean ± sd over seeds</h2>
<table><thead><tr><th>human budget</th>${s.strategies.map((st) => `<th>${esc(st)}</th>`).join('')}<th>teacher F1</th></tr></thead>
<tbody>${mainRows}</tbody></table>
<div class="chart"><canvas id="budget"></canvas></div>
<h2>Per-type test F1 (%)</h2>
<table><thead><tr><th>budget</th><th>strategy</th>${s.types.map((t) => `<th>${esc(t)}</th>`).join('')}</tr></thead>
<tbody>${typeRows}</tbody></table>
<h2>Learning curves (dev F1 after each epoch)</h2>
${curves.map((c, i) => `<h3>human budget ${esc(formatBudget(c.budget))}</h3><div class="chart"><canvas id="curve${i}"></canvas></div>`).join('\n')}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(meta.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}
th{background:#f5f5f5}.note{background:#fff6d5;border-left:4px solid #e0b400;padding:.5rem 1rem}
.chart{max-width:900px;margin:1rem 0}pre{background:#f5f5f5;padding:1rem;overflow:auto}
</style></head><body>
<h1>${esc(meta.title)}</h1>
${meta.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
${sel ? meta.selectionHtml : byBudget}
<h2>Runs</h2>
<table><thead><tr><th>budget</th><th>strategy</th>${sel ? '<th>teacher limit</th><th>teacher select</th><th>human select</th>' : ''}<th>seed</th><th>human sent.</th><th>teacher sent.</th>${sel ? '<th>teacher tokens</th>' : ''}<th>test P</th><th>test R</th><th>test F1</th><th>teacher F1</th></tr></thead><tbody>
${[...results]
  .sort(
    (a, b) =>
      a.budget - b.budget ||
      a.strategy.localeCompare(b.strategy) ||
      (a.teacherLimit ?? 0) - (b.teacherLimit ?? 0) ||
      (a.teacherSelect ?? '').localeCompare(b.teacherSelect ?? '') ||
      (a.humanSelect ?? '').localeCompare(b.humanSelect ?? '') ||
      a.seed - b.seed,
  )
  .map(
    (r) =>
      `<tr><td>${esc(formatBudget(r.budget))}</td><td>${esc(r.strategy)}</td>${sel ? `<td>${r.teacherLimit ?? '—'}</td><td>${esc(r.teacherSelect ?? '—')}</td><td>${esc(r.humanSelect ?? '—')}</td>` : ''}<td>${r.seed}</td><td>${r.humanSentences}</td><td>${r.teacherSentences}</td>${sel ? `<td>${r.teacherTokens ? r.teacherTokens.prompt + r.teacherTokens.completion : '—'}</td>` : ''}<td>${pct(r.test.precision)}</td><td>${pct(r.test.recall)}</td><td>${pct(r.test.f1)}</td><td>${r.teacher ? pct(r.teacher.f1) : '—'}</td></tr>`,
  )
  .join('\n')}
</tbody></table>
${meta.config ? `<h2>Config</h2><pre>${esc(JSON.stringify(meta.config, null, 2))}</pre>` : ''}
${
  sel
    ? ''
    : `<script>${chartJsSource()}</script>
<script>
const budgetChart = ${JSON.stringify(budgetChart)};
new Chart(document.getElementById('budget'), budgetChart);
const curves = ${JSON.stringify(curves.map((c) => c.config))};
curves.forEach((c, i) => new Chart(document.getElementById('curve' + i), c));
</script>`
}
</body></html>
`;
}

function pctNum(x: number | undefined): number | null {
  return x === undefined || !Number.isFinite(x) ? null : +(100 * x).toFixed(2);
}
