/**
 * The distillation's optional first stage: masked-LM pretraining of the student on unlabelled text
 * (config `pretrain:`, see config.ts), trained once in a folder named by a hash of its inputs (the text
 * itself, the student, the settings) and reused by every run that has the same inputs: all strategies,
 * budgets and seeds of an experiment, as phases are shared.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pretrain } from '../student/pretrain.js';
import { readTextFile } from '../student/pretrain-data.js';
import { splitWords } from '../student/predict.js';
import type { DistillConfig } from './config.js';
import { stableHash } from './experiment.js';
import { TRAINING_REVISION } from './revision.js';
import { loadSentences } from './run.js';

/** The words of the pretraining text of a run (pool first, then the extra files). */
export function pretrainText(config: DistillConfig): string[][] {
  const p = config.pretrain;
  if (!p) return [];
  const text: string[][] = [];
  if (p.pool) {
    const d = config.data;
    const pool = d.human
      ? [...loadSentences(d.human), ...(d.unlabelled ? loadSentences(d.unlabelled) : [])]
      : loadSentences(d.train);
    for (const s of pool) if (s.tokens.length) text.push(s.tokens);
  }
  for (const f of p.files) text.push(...readTextFile(f, 'auto', splitWords));
  return text;
}

/**
 * Pretrains (or finds the cached result for) a run's student; returns the checkpoint folder to start phase
 * 1 from, or `config.student.model` unchanged when the config has no `pretrain:`.
 */
export async function pretrainedStudent(
  config: DistillConfig,
  opts: { dir: string; log: (line: string) => void; progress?: boolean; signal?: AbortSignal },
): Promise<string> {
  const p = config.pretrain;
  if (!p) return config.student.model;
  const text = pretrainText(config);
  if (text.length === 0) throw new Error('pretrain: no text (pool: false and no files)');
  const s = config.student;
  const { files: _files, ...settings } = p; // the files count through their text
  const key = stableHash({
    revision: TRAINING_REVISION,
    text: stableHash(text),
    model: s.model,
    vocab: s.vocab,
    maxSeq: s.maxSeq,
    settings,
  }).slice(0, 12);
  const out = path.join(opts.dir, `pretrain-${key}`);
  const modelDir = path.join(out, 'model');
  if (existsSync(path.join(out, 'history.json')) && existsSync(path.join(modelDir, 'config.json'))) {
    opts.log(`distill: pretrained student found in ${out}`);
    return modelDir;
  }
  opts.log(
    `distill: pretraining the student (masked LM) on ${text.length} sentences of unlabelled text, ${p.epochs} epoch(s)${p.maxMinutes ? `, at most ${p.maxMinutes} min` : ''}`,
  );
  const r = await pretrain({
    out,
    text,
    model: s.model,
    vocab: s.vocab,
    maxSeq: s.maxSeq,
    epochs: p.epochs,
    lr: p.lr,
    batchSize: p.batchSize,
    seed: p.seed,
    threads: s.threads,
    maxTimeS: p.maxMinutes !== undefined ? p.maxMinutes * 60 : undefined,
    resume: true,
    progress: opts.progress ?? true,
    log: opts.log,
    signal: opts.signal,
  });
  if (r.interrupted) throw new Error('pretraining was interrupted; rerun the same command to resume it');
  return r.modelDir;
}
