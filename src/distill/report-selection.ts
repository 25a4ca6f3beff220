/**
 * The report of an experiment with a selection axis (teacherLimits, teacherSelects, humanSelects): test F1
 * grouped by human budget × teacher sentences × teacher selection × human selection (rows) and strategy
 * (columns), with what the teacher's sentences cost (its tokens, and $ at a stated price), and SVG plots of
 * F1 against the number of teacher sentences, against $, and against the human budget per human selection.
 */
import type { Price } from '../teacher/pricing.js';
import { cell, type Cell, formatBudget } from './report.js';
import { lineChartSvg, type PlotSeries } from './report-svg.js';
import type { RunResult } from './results.js';
import { usesTeacher } from './strategies.js';

export interface SelectionRow {
  key: string;
  budget: number;
  /** null for the strategies that train on no teacher labels (the teacher axes do not apply to them) */
  teacherLimit: number | null;
  teacherSelect: string | null;
  humanSelect: string;
  /** the teacher's own F1 over seeds (one value per seed: every teacher strategy of the row shares its labels) */
  teacherF1?: Cell;
  /** sentences the teacher labelled, mean over seeds */
  teacherSentences?: number;
  /** the teacher's tokens (prompt + completion) per run, over seeds */
  tokens?: Cell;
  /** USD per run at the report's price, over seeds */
  cost?: Cell;
}

export interface SelectionSummary {
  rows: SelectionRow[];
  strategies: string[];
  /** `${row.key}|${strategy}` → test F1 over seeds */
  f1: Map<string, Cell>;
  /** which row fields take more than one value */
  varies: { budget: boolean; teacherLimit: boolean; teacherSelect: boolean; humanSelect: boolean };
  /** the seeds in the results: a cell over fewer shows its n */
  seeds: number;
  price?: Price;
}

/** where results written before the selection axis lack a field, what the run did then */
const limitOf = (r: RunResult) => r.teacherLimit ?? 0;
const teacherSelectOf = (r: RunResult) => r.teacherSelect ?? 'first';
const humanSelectOf = (r: RunResult) => r.humanSelect ?? 'random';

export function costOfRun(r: RunResult, price: Price): number | undefined {
  const t = r.teacherTokens;
  return t ? (t.prompt * price.input + t.completion * price.output) / 1e6 : undefined;
}

function rowOf(r: RunResult): Omit<SelectionRow, 'key'> {
  const teacher = usesTeacher(r.strategy);
  return {
    budget: r.budget,
    teacherLimit: teacher ? limitOf(r) : null,
    teacherSelect: teacher ? teacherSelectOf(r) : null,
    humanSelect: humanSelectOf(r),
  };
}

const rowKey = (r: Omit<SelectionRow, 'key'>) =>
  `${r.budget}|${r.teacherLimit ?? '-'}|${r.teacherSelect ?? '-'}|${r.humanSelect}`;

const firstSeen = <T>(xs: T[]) => [...new Set(xs)];

export function summariseSelection(results: RunResult[], price?: Price, strategyOrder?: string[]): SelectionSummary {
  const seen = firstSeen(results.map((r) => r.strategy as string));
  const strategies = strategyOrder
    ? [...strategyOrder.filter((s) => seen.includes(s)), ...seen.filter((s) => !strategyOrder.includes(s))]
    : seen;
  const selectOrder = firstSeen(results.map(teacherSelectOf));
  const humanOrder = firstSeen(results.map(humanSelectOf));
  const rows = new Map<string, Omit<SelectionRow, 'key'>>();
  const f1Values = new Map<string, number[]>();
  // per row and seed, the teacher's figures (the same for every teacher strategy of that row and seed)
  const perSeed = new Map<string, Map<number, RunResult>>();
  for (const r of [...results].sort((a, b) => a.seed - b.seed)) {
    const row = rowOf(r);
    const key = rowKey(row);
    if (!rows.has(key)) rows.set(key, row);
    const k = `${key}|${r.strategy}`;
    f1Values.set(k, [...(f1Values.get(k) ?? []), r.test.f1]);
    if (row.teacherLimit !== null) {
      const bySeed = perSeed.get(key) ?? new Map<number, RunResult>();
      if (!bySeed.has(r.seed)) bySeed.set(r.seed, r);
      perSeed.set(key, bySeed);
    }
  }
  const order = (x: string | null, list: string[]) => (x === null ? -1 : list.indexOf(x));
  const sorted = [...rows.entries()]
    .sort(
      ([, a], [, b]) =>
        a.budget - b.budget ||
        (a.teacherLimit ?? -1) - (b.teacherLimit ?? -1) ||
        order(a.teacherSelect, selectOrder) - order(b.teacherSelect, selectOrder) ||
        humanOrder.indexOf(a.humanSelect) - humanOrder.indexOf(b.humanSelect),
    )
    .map(([key, row]): SelectionRow => {
      const runs = [...(perSeed.get(key)?.values() ?? [])];
      const nums = (f: (r: RunResult) => number | undefined) =>
        runs.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v));
      const teacherF1 = nums((r) => r.teacher?.f1);
      const tokens = nums((r) => (r.teacherTokens ? r.teacherTokens.prompt + r.teacherTokens.completion : undefined));
      const cost = price ? nums((r) => costOfRun(r, price)) : [];
      return {
        key,
        ...row,
        ...(teacherF1.length ? { teacherF1: cell(teacherF1) } : {}),
        ...(runs.length ? { teacherSentences: runs.reduce((a, r) => a + r.teacherSentences, 0) / runs.length } : {}),
        ...(tokens.length ? { tokens: cell(tokens) } : {}),
        ...(cost.length ? { cost: cell(cost) } : {}),
      };
    });
  const distinct = (f: (r: SelectionRow) => unknown) => new Set(sorted.map(f).filter((v) => v !== null)).size > 1;
  return {
    rows: sorted,
    strategies,
    f1: new Map([...f1Values].map(([k, v]) => [k, cell(v)])),
    varies: {
      budget: distinct((r) => r.budget),
      teacherLimit: distinct((r) => r.teacherLimit),
      teacherSelect: distinct((r) => r.teacherSelect),
      humanSelect: distinct((r) => r.humanSelect),
    },
    seeds: new Set(results.map((r) => r.seed)).size,
    ...(price ? { price } : {}),
  };
}

/** mean ± sd in %, with n where fewer seeds than the experiment's have finished */
export function formatSelectionCell(c: Cell | undefined, seeds: number): string {
  if (!c) return '—';
  const text = `${(100 * c.mean).toFixed(1)} ± ${(100 * c.sd).toFixed(1)}`;
  return c.n < seeds ? `${text} (n=${c.n})` : text;
}

const thousands = (x: number) => Math.round(x).toLocaleString('en-US');
export const formatUsd = (x: number) => `$${x < 1 ? x.toFixed(3) : x.toFixed(2)}`;

/** the table as rows of cells: its header, then one row per budget × teacher sentences × selection */
export function selectionTableCells(s: SelectionSummary): string[][] {
  const header = [
    'human budget',
    'teacher sent.',
    'teacher select',
    ...(s.varies.humanSelect ? ['human select'] : []),
    ...s.strategies,
    'teacher F1',
    'teacher tokens',
    ...(s.price ? ['$ / run'] : []),
  ];
  const rows = s.rows.map((r) => [
    formatBudget(r.budget),
    r.teacherLimit === null ? '—' : r.teacherLimit === 0 ? 'all' : thousands(r.teacherLimit),
    r.teacherSelect ?? '—',
    ...(s.varies.humanSelect ? [r.humanSelect] : []),
    ...s.strategies.map((st) => formatSelectionCell(s.f1.get(`${r.key}|${st}`), s.seeds)),
    formatSelectionCell(r.teacherF1, s.seeds),
    r.tokens ? thousands(r.tokens.mean) : '—',
    ...(s.price ? [r.cost ? formatUsd(r.cost.mean) : '—'] : []),
  ]);
  return [header, ...rows];
}

/** Plain-text table for summary.txt and the terminal. */
export function formatSelectionTable(s: SelectionSummary): string {
  const [header, ...rows] = selectionTableCells(s);
  const widths = header!.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const pct = (c: Cell) => ({ mean: 100 * c.mean, sd: 100 * c.sd, n: c.n });

/** a series name from the parts that vary (`random`, `random · simple-mix`, …) */
function seriesName(parts: Array<[boolean, string]>, fallback: string): string {
  const shown = parts.filter(([show]) => show).map(([, p]) => p);
  return shown.length ? shown.join(' · ') : fallback;
}

/** F1 against the teacher's sentences, or against $, one plot per budget: one line per selection × strategy */
export function teacherPlots(s: SelectionSummary): string[] {
  const teacherRows = s.rows.filter((r) => r.teacherLimit !== null);
  const strategies = s.strategies.filter((st) => teacherRows.some((r) => s.f1.has(`${r.key}|${st}`)));
  const plots: string[] = [];
  for (const budget of [...new Set(teacherRows.map((r) => r.budget))]) {
    const rows = teacherRows.filter((r) => r.budget === budget);
    const lines = new Map<string, { name: string; rows: SelectionRow[]; strategy: string }>();
    for (const st of strategies)
      for (const r of rows) {
        const id = `${r.teacherSelect}|${r.humanSelect}|${st}`;
        const name = seriesName(
          [
            [true, r.teacherSelect!],
            [s.varies.humanSelect, `human ${r.humanSelect}`],
            [strategies.length > 1, st],
          ],
          st,
        );
        const line = lines.get(id) ?? { name, rows: [], strategy: st };
        line.rows.push(r);
        lines.set(id, line);
      }
    const series = (x: (r: SelectionRow) => number | undefined): PlotSeries[] =>
      [...lines.values()].map((l) => ({
        name: l.name,
        points: l.rows.flatMap((r) => {
          const c = s.f1.get(`${r.key}|${l.strategy}`);
          const xv = x(r);
          return c && xv !== undefined ? [{ x: xv, ...pct(c) }] : [];
        }),
      }));
    const at = s.varies.budget ? `, human budget ${formatBudget(budget)}` : '';
    const bySentences = series((r) => (r.teacherLimit ? r.teacherLimit : r.teacherSentences));
    const counts = [...new Set(bySentences.flatMap((l) => l.points.map((p) => p.x)))];
    plots.push(
      lineChartSvg({
        title: `Test F1 against the teacher's sentences${at}`,
        xLabel: 'sentences the teacher labelled',
        yLabel: 'test F1 (%), mean ± sd',
        series: bySentences,
        formatX: (x) => thousands(x),
        ...(counts.length <= 8 ? { xTicks: counts.sort((a, b) => a - b) } : {}),
      }),
    );
    if (s.price)
      plots.push(
        lineChartSvg({
          title: `Test F1 against the teacher's cost${at}`,
          xLabel: `USD per run (at $${s.price.input} / $${s.price.output} per 1M input / output tokens)`,
          yLabel: 'test F1 (%), mean ± sd',
          series: series((r) => r.cost?.mean),
          formatX: (x) => `$${+x.toPrecision(3)}`,
        }),
      );
  }
  return plots;
}

/** F1 against the human budget, one line per human selection × strategy (× teacher setting where it varies) */
export function humanPlot(s: SelectionSummary): string {
  const lines = new Map<string, PlotSeries>();
  for (const st of s.strategies)
    for (const r of s.rows) {
      const c = s.f1.get(`${r.key}|${st}`);
      if (!c) continue;
      const teacherPart =
        r.teacherLimit === null ? '' : `${r.teacherLimit === 0 ? 'all' : thousands(r.teacherLimit)} ${r.teacherSelect}`;
      const id = `${r.humanSelect}|${st}|${teacherPart}`;
      const name = seriesName(
        [
          [true, `human ${r.humanSelect}`],
          [s.strategies.length > 1, st],
          [(s.varies.teacherLimit || s.varies.teacherSelect) && teacherPart !== '', `teacher ${teacherPart}`],
        ],
        st,
      );
      const line = lines.get(id) ?? { name, points: [] };
      line.points.push({ x: 100 * r.budget, ...pct(c) });
      lines.set(id, line);
    }
  return lineChartSvg({
    title: 'Test F1 by human selection',
    xLabel: 'human-label budget (% of the pool)',
    yLabel: 'test F1 (%), mean ± sd',
    series: [...lines.values()],
    formatX: (x) => `${+x.toPrecision(3)}%`,
  });
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The HTML section: the table, then the plots that apply. */
export function selectionSectionHtml(s: SelectionSummary): string {
  const [header, ...rows] = selectionTableCells(s);
  const labels = s.varies.humanSelect ? 4 : 3; // the leading columns that name the row
  const table = `<table><thead><tr>${header!.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${rows.map((r) => `<tr>${r.map((c, i) => (i < labels ? `<th>${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`).join('\n')}
</tbody></table>`;
  const teacher = s.varies.teacherLimit || s.varies.teacherSelect ? teacherPlots(s) : [];
  const human = s.varies.humanSelect ? [humanPlot(s)] : [];
  return `<h2>Test F1 (%) by selection: mean ± sd over seeds</h2>
${table}
${teacher.length ? `<h2>F1 against the teacher's sentences and cost</h2>\n${teacher.map((p) => `<div class="chart">${p}</div>`).join('\n')}` : ''}
${human.length ? `<h2>F1 per human selection</h2>\n${human.map((p) => `<div class="chart">${p}</div>`).join('\n')}` : ''}`;
}
