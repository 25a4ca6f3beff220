/**
 * The selection report on a small hand-made results list: rows by budget × teacher sentences × selection,
 * the teacher's tokens and $ per row, the plots that apply, and old experiments' reports left as they were.
 */
import { describe, expect, it } from 'vitest';
import { ExperimentConfig } from '../../src/distill/config.js';
import { renderHtml } from '../../src/distill/report.js';
import {
  costOfRun,
  formatSelectionTable,
  selectionSectionHtml,
  summariseSelection,
} from '../../src/distill/report-selection.js';
import { niceTicks } from '../../src/distill/report-svg.js';
import { reportNotes, reportPrice, SIM_ASSUMED_PRICE, summaryText } from '../../src/distill/report-write.js';
import type { RunResult } from '../../src/distill/results.js';

const score = (f1: number) => ({ precision: f1, recall: f1, f1, types: {} });

function run(p: Partial<RunResult> & { f1: number; seed: number }): RunResult {
  const { f1, ...rest } = p;
  return {
    key: '',
    budget: 0.01,
    strategy: 'simple-mix',
    humanSentences: 140,
    teacherSentences: p.teacherLimit ?? 0,
    test: score(f1),
    dev: score(f1),
    curve: [],
    seconds: 1,
    configHash: '',
    humanSelect: 'random',
    ...rest,
  };
}

/** 2 limits × 2 selections × 2 seeds of simple-mix, plus human-only; seed 2 of diversity at 1000 missing */
function results(): RunResult[] {
  const out: RunResult[] = [];
  for (const seed of [1, 2])
    for (const teacherLimit of [500, 1000])
      for (const teacherSelect of ['random', 'diversity']) {
        if (seed === 2 && teacherLimit === 1000 && teacherSelect === 'diversity') continue;
        const f1 = (teacherSelect === 'diversity' ? 0.3 : 0.2) + teacherLimit / 10000 + seed / 100;
        const tokens = teacherLimit * (teacherSelect === 'diversity' ? 200 : 100);
        out.push(
          run({
            seed,
            teacherLimit,
            teacherSelect,
            f1,
            teacher: score(0.8),
            teacherTokens: { prompt: tokens, completion: tokens / 10 },
          }),
        );
      }
  out.push(run({ seed: 1, strategy: 'human-only', teacherLimit: 2000, teacherSelect: 'first', f1: 0.15 }));
  return out;
}

const price = { input: 2.5, output: 10 };

describe('selection report', () => {
  it('groups runs by budget × teacher sentences × selection, with mean ± sd, n where seeds are missing, tokens and $', () => {
    const s = summariseSelection(results(), price, ['human-only', 'simple-mix']);
    expect(s.strategies).toEqual(['human-only', 'simple-mix']);
    expect(s.rows.map((r) => [r.teacherLimit, r.teacherSelect])).toEqual([
      [null, null],
      [500, 'random'],
      [500, 'diversity'],
      [1000, 'random'],
      [1000, 'diversity'],
    ]);
    expect(s.varies).toEqual({ budget: false, teacherLimit: true, teacherSelect: true, humanSelect: false });
    const div500 = s.rows[2]!;
    const f1 = s.f1.get(`${div500.key}|simple-mix`)!;
    expect(f1.values.map((v) => +v.toFixed(4))).toEqual([0.36, 0.37]);
    expect(div500.tokens!.mean).toBe(110_000);
    expect(div500.cost!.mean).toBeCloseTo((100_000 * 2.5 + 10_000 * 10) / 1e6, 10);
    expect(costOfRun(results()[0]!, price)).toBeCloseTo((50_000 * 2.5 + 5_000 * 10) / 1e6, 10);

    const text = formatSelectionTable(s);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^human budget\s+teacher sent\.\s+teacher select\s+human-only\s+simple-mix\s+teacher F1\s+teacher tokens\s+\$ \/ run$/,
    );
    expect(lines[2]).toMatch(/^1%\s+—\s+—\s+15\.0 ± 0\.0 \(n=1\)\s+—/);
    expect(lines[4]).toMatch(/^1%\s+500\s+diversity\s+—\s+36\.5 ± 0\.7\s+80\.0 ± 0\.0\s+110,000\s+\$0\.350$/);
    expect(lines[6]).toMatch(/1,000\s+diversity\s+—\s+41\.0 ± 0\.0 \(n=1\)/);
  });

  it('plots F1 against teacher sentences and against $ when those vary, by human selection when that varies', () => {
    const html = selectionSectionHtml(summariseSelection(results(), price));
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain("Test F1 against the teacher's sentences");
    expect(html).toContain("Test F1 against the teacher's cost");
    expect(html).toContain('per 1M input / output tokens');
    // one line per selection, error bars where sd > 0
    expect(html.match(/<g class="series">/g)).toHaveLength(4);
    expect(html).toMatch(/class="errbar"/);
    expect(html).not.toContain('F1 per human selection');
    // no price: no $ plot
    expect(selectionSectionHtml(summariseSelection(results())).match(/<svg /g)).toHaveLength(1);

    const human = [
      ...[0.01, 0.05].flatMap((budget) =>
        ['random', 'diversity'].flatMap((humanSelect) =>
          [1, 2].map((seed) =>
            run({ seed, budget, humanSelect, teacherLimit: 500, teacherSelect: 'random', f1: budget * 5 + seed / 100 }),
          ),
        ),
      ),
    ];
    const hs = summariseSelection(human, price);
    expect(hs.varies.humanSelect).toBe(true);
    const hhtml = selectionSectionHtml(hs);
    expect(hhtml).toContain('F1 per human selection');
    expect(hhtml).toContain('human diversity');
    expect(formatSelectionTable(hs).split('\n')[0]).toMatch(/teacher select\s+human select\s+simple-mix/);
  });

  it('the report: the selection section replaces the by-budget one; an old experiment keeps its table and charts', () => {
    const exp = ExperimentConfig.parse({
      name: 'sel',
      strategies: ['simple-mix'],
      teacherSelects: ['random', 'diversity'],
    });
    const sel = renderHtml(results(), { title: 't', notes: reportNotes(exp), selectionHtml: '<p id="sel">S</p>' });
    expect(sel).toContain('<p id="sel">S</p>');
    expect(sel).not.toContain('<canvas id="budget">');
    expect(sel).toContain('<th>teacher select</th>');
    expect(reportNotes(exp).join('\n')).toContain(
      "GPT-4o's list price, $2.5 per 1M input and $10 per 1M output tokens",
    );
    expect(reportPrice(exp).price).toEqual(SIM_ASSUMED_PRICE);
    expect(summaryText(exp, results())).toMatch(/teacher tokens/);

    const old = ExperimentConfig.parse({ name: 'old', strategies: ['human-only', 'simple-mix'] });
    const oldResults = results().map(
      ({ teacherLimit: _l, teacherSelect: _s, humanSelect: _h, teacherTokens: _t, ...r }) => r,
    );
    const html = renderHtml(oldResults, { title: 't', notes: reportNotes(old) });
    expect(html).toContain('<canvas id="budget">');
    expect(html).not.toContain('<svg ');
    expect(reportNotes(old).join('\n')).not.toContain('$');
    expect(summaryText(old, oldResults).split('\n')[0]).toMatch(
      /^human budget\s+human-only\s+simple-mix\s+teacher F1$/,
    );
  });

  it('prices: the config, a known model, none for an unknown one', () => {
    const openai = (model: string, p?: object) =>
      ExperimentConfig.parse({ ...(p ? { price: p } : {}), base: { teacher: { provider: 'openai', model } } });
    expect(reportPrice(openai('gpt-4o-mini')).price).toEqual({ input: 0.15, output: 0.6 });
    expect(reportPrice(openai('my-local-model')).price).toBeUndefined();
    expect(reportPrice(openai('my-local-model')).note).toContain('No price is known');
    expect(reportPrice(openai('my-local-model', { input: 1, output: 2 })).price).toEqual({ input: 1, output: 2 });
    expect(niceTicks(0, 1000)).toEqual([0, 200, 400, 600, 800, 1000]);
  });
});
