/**
 * The student's trainer: sentences in, a Hugging Face checkpoint out.
 *
 *   const result = await train({ out: 'runs/a', train: sentences, dev: devSentences, model: 'mini' });
 *
 * - labels: BIO tags of the entity types in the data (O first, then B-/I- per type in sorted order), or the
 *   label set of the checkpoint being continued (new types are appended, their classifier rows freshly
 *   initialised);
 * - batches: length-bucketed and seeded (batches.ts); per-token loss weights from span confidence (teacher
 *   data), per-source weights, or a caller's own step plan (`plan`) for mixing schedules;
 * - schedule: AdamW, linear warm-up then linear decay to 0 over the whole run;
 * - evaluation on `dev` after each epoch (or every `evalEvery` steps) with the conlleval-exact scorer; the best
 *   dev F1 is kept as `OUT/best/` (a shippable HF checkpoint with onnx/model.onnx); early stopping after
 *   `patience` evaluations without improvement;
 * - resume: `OUT/last/` holds params, AdamW moments, the step, the best score and the evaluation history,
 *   written atomically every `saveEvery` steps and at every evaluation. `resume: true` continues from it and
 *   gives the same parameters as an uninterrupted run (batches are a pure function of (seed, epoch); the
 *   engine's dropout is seeded per step).
 *
 * Continuing from an earlier run (distillation phase 2 after phase 1) is `model: 'OUT1/best'` with a fresh
 * optimiser and schedule.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sentence } from '../corpus/types.js';
import { InputError } from '../errors.js';
import { sharedDataPath } from '../package-info.js';
import { Progress, type ProgressOptions } from '../progress.js';
import { collate } from './batches.js';
import { wordPieceOf } from './align.js';
import { Predictor, labelsFromConfig } from './predict.js';
import { collapseWarning, evalLine, evaluate } from './train-eval.js';
import {
  lastModelDir,
  loadModel,
  loadTrainingState,
  recoverDir,
  saveModel,
  saveTrainingState,
  type LoadedModel,
} from './train-state.js';
import { BertEngine } from './engine.js';
import { lrAt } from './optim.js';
import { isPresetName } from './presets.js';
import { writtenByPretrain } from './pretrain-checkpoint.js';
import { initPriorBias, labelSetOf, makeRunPlan, prepare, runFingerprint } from './train-plan.js';
import {
  freshTrainerState,
  type EvalRecord,
  type TrainEngine,
  type TrainOptions,
  type TrainResult,
  type TrainSource,
} from './train-types.js';
import type { OptimizerSettings } from './types.js';

export const DEFAULT_VOCAB = sharedDataPath('vocab/bert-base-cased-vocab.txt');

/** Trains a token classifier; see the file comment. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const t0 = Date.now();
  const out = path.resolve(options.out);
  const lastDir = path.join(out, 'last');
  const bestDir = path.join(out, 'best');
  await mkdir(out, { recursive: true });
  const sources: TrainSource[] =
    Array.isArray(options.train) && options.train.length > 0 && 'sentences' in (options.train[0] as object)
      ? (options.train as TrainSource[])
      : [{ name: 'train', sentences: options.train as Sentence[] }];
  const dev = options.dev ?? [];
  const seed = options.seed ?? 42;
  const epochs = options.epochs ?? 3;
  const batchSize = options.batchSize ?? 32;
  const maxSeqWanted = options.maxSeq ?? 128;
  const log = options.log;

  // ---- model: resume state, a checkpoint folder, or a preset with fresh weights
  if (options.resume) await recoverDir(lastDir);
  const resuming = options.resume === true && existsSync(path.join(lastDir, 'trainer_state.json'));
  const dataLabels = options.labels ?? labelSetOf(...sources.map((s) => s.sentences), dev);
  let model: LoadedModel;
  if (resuming) {
    model = await loadModel(lastModelDir(lastDir), { labels: undefined, seed });
  } else {
    model = await loadModel(options.model ?? 'mini', {
      labels: dataLabels,
      seed,
      vocab: options.vocab ?? DEFAULT_VOCAB,
      lowercase: options.lowercase,
      dropout: options.dropout,
      maxSeq: maxSeqWanted,
    });
  }
  const labels = labelsFromConfig(model.config);
  for (const l of dataLabels) {
    if (!labels.includes(l)) {
      throw new InputError(
        `the data has label ${l}, which the resumed model in ${lastDir} lacks; start afresh without --resume`,
      );
    }
  }
  const label2id = new Map(labels.map((l, i) => [l, i]));
  const maxSeq = Math.min(maxSeqWanted, model.config.max_position_embeddings);
  const wp = wordPieceOf(model.tokenizer);

  // ---- data and plan
  await wp.prepare?.(sources.flatMap((src) => src.sentences.flatMap((s) => s.tokens)));
  const prepared = prepare(sources, wp, label2id, maxSeq, options.entityWeight);
  if (prepared.examples.length === 0) throw new InputError('no training sentences');
  if (!resuming && options.priorBias !== false) {
    const note = initPriorBias(model.params, prepared, labels); // a fresh classifier starts at the label prior
    if (note) model.notes.push(note);
  }
  const runPlan = makeRunPlan(prepared, { ...options, epochs, batchSize, seed });
  const totalSteps = runPlan.steps.length;
  const warmupOpt = options.warmup ?? 0.1;
  const warmup = warmupOpt < 1 ? Math.round(warmupOpt * totalSteps) : Math.round(warmupOpt);
  // a student from `nerd pretrain` fine-tunes at the preset rate (pretrain-checkpoint.ts, writtenByPretrain)
  const fromPretrainedModel = !isPresetName(options.model ?? 'mini') && !writtenByPretrain(options.model);
  const opt: OptimizerSettings = {
    lr: options.lr ?? (fromPretrainedModel ? 5e-5 : 5e-4),
    weightDecay: options.weightDecay ?? 0.01,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    maxGradNorm: options.maxGradNorm ?? 1.0,
  };
  const fingerprint = runFingerprint(prepared, {
    labels,
    totalSteps,
    seed,
    batchSize,
    maxSeq,
    lr: opt.lr,
    warmup,
    entityWeight: options.entityWeight,
  });

  let state = freshTrainerState(totalSteps, fingerprint, labels);
  let optimizerState;
  if (resuming) {
    const saved = await loadTrainingState(lastDir);
    if (saved.state.fingerprint !== fingerprint) {
      throw new InputError(
        `${lastDir} was written by a run with other data or settings (labels, batch size, epochs, lr, seed or max length differ); ` +
          'use the same options, or start afresh without --resume',
      );
    }
    state = saved.state;
    optimizerState = saved.optimizer;
  }
  const resumedAt = resuming ? state.step : undefined;

  const engine: TrainEngine = await BertEngine.create(model.config, model.params, {
    threads: options.threads,
    seed,
    optimizerState,
  });
  const predictor = new Predictor(wp, labels, (b) => engine.logits(b), { maxSeq, batchSize: 64, maxTokens: 8192 });

  const progressOpts: ProgressOptions | false =
    options.progress === false
      ? false
      : { label: 'train', unit: 'steps', ...(typeof options.progress === 'object' ? options.progress : {}) };
  const bar = progressOpts ? new Progress(totalSteps, progressOpts) : undefined;
  if (bar && state.step > 0) bar.resumeAt(state.step);
  const say = (line: string): void => {
    if (log) log(line);
    else if (bar) bar.log(line);
  };
  if (resuming) say(`resuming ${out} at step ${state.step}/${totalSteps}`);
  else {
    let nParams = 0;
    for (const t of model.params.values()) nParams += t.data.length;
    const c = model.config;
    say(
      `training ${options.model ?? 'mini'} (H${c.hidden_size}/L${c.num_hidden_layers}/A${c.num_attention_heads}, ` +
        `${(nParams / 1e6).toFixed(1)}M parameters, ${labels.length} labels) on ` +
        `${sources.map((s) => `${s.sentences.length} ${s.name}`).join(' + ')} sentences ` +
        `(${prepared.examples.length} windows of ≤ ${maxSeq} sub-words): ${totalSteps} steps, ` +
        `lr ${opt.lr} with ${warmup} warm-up steps` +
        (dev.length ? `, dev ${dev.length} sentences` : ''),
    );
    for (const note of model.notes) say(note);
  }

  const weightAt = (progress: number): Map<string, number> => {
    const m = new Map<string, number>();
    for (const s of prepared.sources) {
      m.set(s.name, s.weight === undefined ? 1 : typeof s.weight === 'number' ? s.weight : s.weight(progress));
    }
    return m;
  };
  const anyWeighted =
    prepared.examples.some((e) => e.tokenWeights) || sources.some((s) => s.weight !== undefined) || !!options.plan;

  const saveLast = async (): Promise<void> => {
    state.wallS += (Date.now() - segmentStart) / 1000;
    segmentStart = Date.now();
    await saveTrainingState(
      lastDir,
      { config: model.config, params: engine.params, tokenizer: model.tokenizer },
      engine.optimizer,
      state,
    );
  };
  let segmentStart = Date.now();
  let emaLoss: number | undefined;
  let tokensWindow = 0;
  let windowStart = Date.now();
  let interrupted = false;
  let stepsThisCall = 0;

  let collapseWarned = false; // said once per call
  const runEval = async (): Promise<void> => {
    const at = Math.max(state.step - 1, 0);
    const rec: EvalRecord = {
      step: state.step,
      epoch: runPlan.epochOf(at) + 1,
      trainLoss: state.lossCount ? state.lossSum / state.lossCount : NaN,
      best: false,
      wallS: state.wallS + (Date.now() - segmentStart) / 1000,
    };
    state.lossSum = 0;
    state.lossCount = 0;
    if (dev.length) {
      rec.dev = await evaluate(predictor, dev);
      // only past the middle of the run: early in training an all-O student is still normal
      const warning = 2 * state.step > totalSteps ? collapseWarning(rec.dev, state.step) : undefined;
      if (warning && !collapseWarned) {
        collapseWarned = true;
        say(warning);
      }
      if (state.bestF1 === null || rec.dev.f1 > state.bestF1) {
        state.bestF1 = rec.dev.f1;
        state.bestStep = state.step;
        state.badEvals = 0;
        rec.best = true;
        await saveModel(
          bestDir,
          { config: model.config, params: engine.params, tokenizer: model.tokenizer, engine },
          {
            dev: rec.dev,
            step: state.step,
            epoch: rec.epoch,
          },
        );
      } else {
        state.badEvals++;
        if (options.patience && state.badEvals >= options.patience) state.stoppedEarly = true;
      }
    }
    state.history.push(rec);
    say(evalLine(rec, totalSteps, state.stoppedEarly, options.patience));
    await options.onEval?.(rec);
    await saveLast();
  };
  let timeUp = false;

  try {
    while (state.step < totalSteps && !state.stoppedEarly) {
      if (
        options.signal?.aborted ||
        (options.stopAfter !== undefined && stepsThisCall >= options.stopAfter) ||
        (timeUp = options.maxTimeS !== undefined && (Date.now() - t0) / 1000 >= options.maxTimeS)
      ) {
        interrupted = true;
        break;
      }
      const step = state.step;
      const planned = runPlan.steps[step]!;
      const progressFrac = totalSteps > 1 ? step / (totalSteps - 1) : 0;
      const srcW = weightAt(progressFrac);
      const batch = collate(prepared.examples, planned.idx, {
        padId: wp.padId,
        alwaysWeights: anyWeighted,
        weightOf: (ex) => (ex.weight ?? 1) * (srcW.get(ex.source ?? '') ?? 1),
      });
      if (planned.extra && batch.weights) {
        // per-example extra weights from the caller's plan (an example index may appear once per step)
        planned.idx.forEach((_exIdx, row) => {
          const w = planned.extra![row]!;
          if (w !== 1) for (let t = 0; t < batch.seqLen; t++) batch.weights![row * batch.seqLen + t]! *= w;
        });
      }
      const lr = lrAt(step, totalSteps, warmup, opt.lr);
      const res = await engine.trainStep(batch, lr, { ...opt, lr });
      if (!Number.isFinite(res.loss)) {
        throw new Error(`training diverged at step ${step + 1}: loss ${res.loss} (try a lower --lr)`);
      }
      const real = batch.attentionMask.reduce((a, b) => a + b, 0);
      state.trainTokens += real;
      tokensWindow += real;
      state.lossSum += res.loss;
      state.lossCount += 1;
      emaLoss = emaLoss === undefined ? res.loss : 0.95 * emaLoss + 0.05 * res.loss;
      state.step = step + 1;
      stepsThisCall++;
      const now = Date.now();
      const tokPerS = (tokensWindow * 1000) / Math.max(now - windowStart, 1);
      if (now - windowStart > 20_000) {
        tokensWindow = 0;
        windowStart = now;
      }
      bar?.update(state.step, {
        epoch: `${runPlan.epochOf(step) + 1}/${epochs}`,
        loss: emaLoss,
        'tok/s': Math.round(tokPerS),
        lr: lr,
      });

      if (runPlan.evalAfter.includes(step)) {
        await runEval();
      } else if (state.step % (options.saveEvery ?? 200) === 0) {
        await saveLast();
      }
    }
    if (interrupted) {
      // out of time: score what we have, so that best/ holds the best weights seen
      if (timeUp && state.lossCount > 0) await runEval();
      await saveLast();
      say(`stopped at step ${state.step}/${totalSteps}; resume with --resume`);
    } else if (!dev.length) {
      // without a dev set the final weights are the ones to ship
      await saveModel(
        bestDir,
        { config: model.config, params: engine.params, tokenizer: model.tokenizer, engine },
        {
          step: state.step,
        },
      );
    }
    if (!interrupted) {
      await saveLast();
      await writeFile(path.join(out, 'history.json'), `${JSON.stringify(state.history, null, 2)}\n`);
    }
  } finally {
    bar?.stop();
    await engine.release();
  }
  return {
    out,
    bestDir,
    labels,
    steps: state.step,
    totalSteps,
    bestF1: state.bestF1 ?? undefined,
    bestStep: state.bestStep ?? undefined,
    history: state.history,
    stoppedEarly: state.stoppedEarly,
    interrupted,
    resumedAt,
    trainTokens: state.trainTokens,
    wallS: (Date.now() - t0) / 1000,
  };
}
