/**
 * The grid of `nerd experiment`: human budgets × teacher sentences (`teacherLimits`) × teacher selection
 * (`teacherSelects`) × human selection (`humanSelects`) × strategies × seeds. An axis the config omits has
 * the base config's single value.
 *
 * A cell's key and folder name carry a selection part only where the cell differs from the base config
 * (`/teacher=N`, `/select=S`, `/humanSelect=H`), so an experiment without a selection axis keeps the keys
 * it always had (its results.jsonl stays valid), and adding an axis to an experiment reuses the runs of
 * the base's values. Strategies that train on no teacher labels (`human-only`) get one cell per budget, human
 * selection and seed: the teacher axes would change nothing in what they train.
 */
import path from 'node:path';
import type { DistillConfig, ExperimentConfig, Strategy } from './config.js';
import { type KeySelection, runKey } from './results.js';
import { usesTeacher } from './strategies.js';

export type SelectName = DistillConfig['humanSelect'];

export interface GridCell {
  budget: number;
  strategy: Strategy;
  seed: number;
  teacherLimit: number;
  teacherSelect: SelectName;
  humanSelect: SelectName;
}

/** whether the experiment has any selection axis (its report then groups and plots by selection) */
export function hasSelectionAxis(exp: ExperimentConfig): boolean {
  return Boolean(exp.teacherLimits || exp.teacherSelects || exp.humanSelects);
}

/**
 * Every cell, in run order: per budget, per seed (so a stopped experiment has whole seeds done), per
 * teacher limit, teacher selection, human selection and strategy.
 */
export function experimentGrid(exp: ExperimentConfig): GridCell[] {
  const base = exp.base;
  const limits = exp.teacherLimits ?? [base.data.teacherLimit];
  const selects = exp.teacherSelects ?? [base.teacher.select];
  const humans = exp.humanSelects ?? [base.humanSelect];
  const cells: GridCell[] = [];
  const seen = new Set<string>();
  for (const budget of exp.budgets)
    for (const seed of exp.seeds)
      for (const teacherLimit of limits)
        for (const teacherSelect of selects)
          for (const humanSelect of humans)
            for (const strategy of exp.strategies) {
              const teacherAxes = usesTeacher(strategy)
                ? { teacherLimit, teacherSelect }
                : { teacherLimit: base.data.teacherLimit, teacherSelect: base.teacher.select };
              const cell = { budget, strategy, seed, ...teacherAxes, humanSelect };
              const key = cellKey(exp, cell);
              if (seen.has(key)) continue; // a human-only cell already listed for another teacher value
              seen.add(key);
              cells.push(cell);
            }
  return cells;
}

/** the selection values of a cell that differ from the base config (the parts its key and folder carry) */
export function keySelection(exp: ExperimentConfig, cell: GridCell): KeySelection {
  const base = exp.base;
  return {
    ...(cell.teacherLimit !== base.data.teacherLimit ? { teacher: cell.teacherLimit } : {}),
    ...(cell.teacherSelect !== base.teacher.select ? { select: cell.teacherSelect } : {}),
    ...(cell.humanSelect !== base.humanSelect ? { humanSelect: cell.humanSelect } : {}),
  };
}

export function cellKey(exp: ExperimentConfig, cell: GridCell): string {
  return runKey(cell.budget, cell.strategy, cell.seed, keySelection(exp, cell));
}

/** the run's folder under OUT/runs: b{budget}-{strategy}-s{seed}, then -t{N}, -{select}, -h{select} where they differ */
export function cellFolder(exp: ExperimentConfig, cell: GridCell): string {
  const sel = keySelection(exp, cell);
  return [
    `b${cell.budget}-${cell.strategy}-s${cell.seed}`,
    ...(sel.teacher !== undefined ? [`t${sel.teacher}`] : []),
    ...(sel.select !== undefined ? [sel.select] : []),
    ...(sel.humanSelect !== undefined ? [`h${sel.humanSelect}`] : []),
  ].join('-');
}

/** The config of one grid cell: the base config with the cell's budget, strategy, seed and selection. */
export function cellConfig(exp: ExperimentConfig, cell: GridCell): DistillConfig {
  return {
    ...exp.base,
    name: `${exp.name}/${cellKey(exp, cell)}`,
    out: path.join(exp.out, 'runs', cellFolder(exp, cell)),
    budget: cell.budget,
    strategy: cell.strategy,
    seed: cell.seed,
    data: { ...exp.base.data, teacherLimit: cell.teacherLimit },
    teacher: { ...exp.base.teacher, select: cell.teacherSelect },
    humanSelect: cell.humanSelect,
  };
}
