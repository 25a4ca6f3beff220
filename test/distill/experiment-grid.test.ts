/**
 * The selection axis of `nerd experiment`'s grid: which cells it lists, their keys and folders, and that an
 * experiment without the axis keeps the keys, folders and config hashes it had before (so its results.jsonl
 * stays valid and a rerun skips its finished runs).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DistillConfig, ExperimentConfig } from '../../src/distill/config.js';
import { cellConfig, configHash, experimentGrid } from '../../src/distill/experiment.js';
import { cellFolder, cellKey, hasSelectionAxis } from '../../src/distill/experiment-grid.js';
import { runKey } from '../../src/distill/results.js';

const base = { data: { teacherLimit: 2000 } };

describe('experiment grid', () => {
  it('without a selection axis: the keys, folders and hashes of before', () => {
    const exp = ExperimentConfig.parse({
      name: 'old',
      out: 'runs/old',
      budgets: [0.01, 0.05],
      strategies: ['human-only', 'simple-mix'],
      seeds: [1, 2],
      base,
    });
    expect(hasSelectionAxis(exp)).toBe(false);
    const grid = experimentGrid(exp);
    // budgets × seeds × strategies, in the order runs always ran
    expect(grid.map((c) => cellKey(exp, c))).toEqual([
      'budget=0.01/strategy=human-only/seed=1',
      'budget=0.01/strategy=simple-mix/seed=1',
      'budget=0.01/strategy=human-only/seed=2',
      'budget=0.01/strategy=simple-mix/seed=2',
      'budget=0.05/strategy=human-only/seed=1',
      'budget=0.05/strategy=simple-mix/seed=1',
      'budget=0.05/strategy=human-only/seed=2',
      'budget=0.05/strategy=simple-mix/seed=2',
    ]);
    for (const c of grid) {
      const config = cellConfig(exp, c);
      // the config the grid built before the selection axis: the base with budget, strategy and seed
      const before: DistillConfig = {
        ...exp.base,
        name: `old/${runKey(c.budget, c.strategy, c.seed)}`,
        out: path.join('runs/old', 'runs', `b${c.budget}-${c.strategy}-s${c.seed}`),
        budget: c.budget,
        strategy: c.strategy,
        seed: c.seed,
      };
      expect(config).toEqual(before);
      expect(configHash(config)).toBe(configHash(before));
    }
  });

  it('a selection axis: one cell per value, key and folder parts only where the cell differs from the base', () => {
    const exp = ExperimentConfig.parse({
      name: 'sel',
      out: 'runs/sel',
      budgets: [0.01],
      strategies: ['human-only', 'simple-mix'],
      seeds: [1],
      teacherLimits: [500, 2000],
      teacherSelects: ['first', 'diversity'],
      humanSelects: ['random', 'diversity'],
      base,
    });
    expect(hasSelectionAxis(exp)).toBe(true);
    const grid = experimentGrid(exp);
    const keys = grid.map((c) => cellKey(exp, c));
    // human-only trains on no teacher labels: one cell per human selection, at the base's teacher values
    expect(keys.filter((k) => k.includes('human-only'))).toEqual([
      'budget=0.01/strategy=human-only/seed=1',
      'budget=0.01/strategy=human-only/seed=1/humanSelect=diversity',
    ]);
    expect(keys.filter((k) => k.includes('simple-mix'))).toEqual([
      'budget=0.01/strategy=simple-mix/seed=1/teacher=500',
      'budget=0.01/strategy=simple-mix/seed=1/teacher=500/humanSelect=diversity',
      'budget=0.01/strategy=simple-mix/seed=1/teacher=500/select=diversity',
      'budget=0.01/strategy=simple-mix/seed=1/teacher=500/select=diversity/humanSelect=diversity',
      'budget=0.01/strategy=simple-mix/seed=1',
      'budget=0.01/strategy=simple-mix/seed=1/humanSelect=diversity',
      'budget=0.01/strategy=simple-mix/seed=1/select=diversity',
      'budget=0.01/strategy=simple-mix/seed=1/select=diversity/humanSelect=diversity',
    ]);
    expect(new Set(grid.map((c) => cellFolder(exp, c))).size).toBe(grid.length);
    const hashes = grid.map((c) => configHash(cellConfig(exp, c)));
    expect(new Set(hashes).size).toBe(grid.length);

    const cell = grid.find(
      (c) => cellKey(exp, c) === 'budget=0.01/strategy=simple-mix/seed=1/teacher=500/select=diversity',
    )!;
    const config = cellConfig(exp, cell);
    expect(config.data.teacherLimit).toBe(500);
    expect(config.teacher.select).toBe('diversity');
    expect(config.humanSelect).toBe('random');
    expect(config.out).toBe(path.join('runs/sel', 'runs', 'b0.01-simple-mix-s1-t500-diversity'));
    // the base's values give the cell of an experiment without the axis: same hash, so its results are reused
    const baseCell = grid.find((c) => cellKey(exp, c) === 'budget=0.01/strategy=simple-mix/seed=1')!;
    const plain = ExperimentConfig.parse({
      ...exp,
      teacherLimits: undefined,
      teacherSelects: undefined,
      humanSelects: undefined,
    });
    expect(configHash(cellConfig(exp, baseCell))).toBe(configHash(cellConfig(plain, experimentGrid(plain)[1]!)));
  });

  it('runKey adds the selection parts given, in a fixed order', () => {
    expect(runKey(0.05, 'mix', 3)).toBe('budget=0.05/strategy=mix/seed=3');
    expect(runKey(0.05, 'mix', 3, { humanSelect: 'uncertainty', teacher: 0, select: 'random' })).toBe(
      'budget=0.05/strategy=mix/seed=3/teacher=0/select=random/humanSelect=uncertainty',
    );
  });
});
