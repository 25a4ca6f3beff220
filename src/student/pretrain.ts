/**
 * Masked-LM pretraining of a student on unlabelled text ("Well-Read Students Learn Better": compact students
 * gain most from it; "Don't Stop Pretraining": continued in-domain pretraining helps even pretrained models).
 *
 *   const r = await pretrain({ out: 'runs/pt', text: sentences, model: 'mini', epochs: 3 });
 *   // r.modelDir: a BertForMaskedLM checkpoint for `train({ model: r.modelDir, ... })`
 *
 * Same engine as fine-tuning (engine.ts, head 'masked-lm'): whole-word masking drawn afresh each epoch
 * (pretrain-data.ts), the MLM loss computed at the masked positions only, AdamW with linear warm-up/decay,
 * length-bucketed seeded batches (batches.ts), OUT/last written atomically every `saveEvery` steps and at
 * each epoch's end; `resume: true` continues from it and gives the same weights as an uninterrupted run.
 * OUT/model (the checkpoint) is written at each epoch's end and at the end; a time budget (`maxTimeS`) ends
 * the run early with the weights reached (the schedule is planned for `epochs`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { Progress, formatNumber, type ProgressOptions } from '../progress.js';
import { encodeSentences, wordPieceOf, type EncodedWindow } from './align.js';
import { planBatches } from './batches.js';
import { BertEngine } from './engine.js';
import { lrAt } from './optim.js';
import { collateMasked, type MaskingOptions } from './pretrain-data.js';
import { loadMlmModel, loadPretrainState, saveMlmCheckpoint, savePretrainState } from './pretrain-checkpoint.js';
import { isPresetName } from './presets.js';
import { DEFAULT_VOCAB } from './train.js';
import type { OptimizerSettings } from './types.js';

export interface PretrainOptions {
  /** output folder: model/ (the BertForMaskedLM checkpoint), last/ (resume state), history.json */
  out: string;
  /** sentences as word lists (pretrain-data.ts reads files) */
  text: string[][];
  /** held-out sentences: their masked-LM loss (fixed masks, no dropout) is reported after each epoch */
  dev?: string[][];
  /** a preset (tiny, mini, small, base) or a checkpoint folder to continue from (default "mini") */
  model?: string;
  vocab?: string;
  lowercase?: boolean;
  /** passes over the text (default 3) */
  epochs?: number;
  /** peak learning rate (default 5e-4 from fresh weights, 1e-4 from a checkpoint) */
  lr?: number;
  /** warm-up: a fraction of all steps if < 1, else steps (default 0.06) */
  warmup?: number;
  batchSize?: number;
  maxTokens?: number;
  maxSeq?: number;
  /** share of sub-words masked (default 0.15) */
  maskProb?: number;
  weightDecay?: number;
  seed?: number;
  threads?: number;
  dropout?: number;
  resume?: boolean;
  saveEvery?: number;
  /** stop after this many steps in this call, leaving OUT/last to resume from */
  stopAfter?: number;
  /** stop once this many seconds have passed in this call: the weights reached are the checkpoint */
  maxTimeS?: number;
  /** a point of the loss curve (mean masked-LM loss of the last n steps) every n steps (default 100; 0: none) */
  logEvery?: number;
  signal?: AbortSignal;
  progress?: boolean | ProgressOptions;
  log?: (line: string) => void;
}

export interface PretrainEpoch {
  epoch: number;
  step: number;
  trainLoss: number;
  devLoss?: number;
  wallS: number;
  /** CPU seconds of this process (all threads) spent so far, over every resumed segment */
  cpuS?: number;
}

/** A point of the loss curve: the mean masked-LM loss of the `logEvery` steps ending at `step`. */
export interface PretrainCurvePoint {
  step: number;
  loss: number;
  wallS: number;
  cpuS: number;
}

export interface PretrainResult {
  out: string;
  /** OUT/model: the checkpoint (BertForMaskedLM) */
  modelDir: string;
  steps: number;
  totalSteps: number;
  /** stopped by stopAfter or signal: resume with `resume: true` */
  interrupted: boolean;
  /** ended by the time budget (OUT/model holds the weights reached) */
  timeUp: boolean;
  resumedAt?: number;
  history: PretrainEpoch[];
  /** the loss curve, a point every `logEvery` steps */
  curve: PretrainCurvePoint[];
  /**
   * the held-out loss a model knowing only sub-word frequencies gets (the cross-entropy of the held-out
   * masked tokens under the training text's unigram distribution, add-one smoothed): a held-out loss
   * below it shows the masked LM uses the context
   */
  unigramDevLoss?: number;
  trainTokens: number;
  wallS: number;
  /** CPU seconds of the pretraining process over all its segments (the budget a comparison should state) */
  cpuS: number;
}

interface PretrainState {
  version: 1;
  step: number;
  totalSteps: number;
  fingerprint: string;
  history: PretrainEpoch[];
  lossSum: number;
  lossCount: number;
  trainTokens: number;
  wallS: number;
  /** absent in states written before it was recorded */
  cpuS?: number;
  curve?: PretrainCurvePoint[];
  curveSum?: number;
  curveCount?: number;
}

function hashString(s: string, h = 2166136261): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Masked-LM pretraining; see the file comment. */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const t0 = Date.now();
  const out = path.resolve(options.out);
  const lastDir = path.join(out, 'last');
  const modelDir = path.join(out, 'model');
  await mkdir(out, { recursive: true });
  const seed = options.seed ?? 42;
  const epochs = options.epochs ?? 3;
  const batchSize = options.batchSize ?? 32;
  const saved = options.resume ? await loadPretrainState<PretrainState>(lastDir) : null;
  const modelName = options.model ?? 'mini';
  const model = await loadMlmModel(saved ? path.join(lastDir, 'model') : modelName, {
    seed,
    vocab: options.vocab ?? DEFAULT_VOCAB,
    lowercase: options.lowercase,
    maxSeq: options.maxSeq ?? 128,
    dropout: saved ? undefined : options.dropout,
  });
  const maxSeq = Math.min(options.maxSeq ?? 128, model.config.max_position_embeddings);
  const wp = wordPieceOf(model.tokenizer);
  await wp.prepare?.([...options.text.flat(), ...(options.dev?.slice(0, 2000).flat() ?? [])]);
  const windows = encodeSentences(options.text, wp, { maxSeq }).filter((w) => w.inputIds.length > 2);
  if (windows.length === 0) throw new InputError('no text to pretrain on (every sentence is empty)');
  const devWindows = options.dev
    ? encodeSentences(options.dev.slice(0, 2000), wp, { maxSeq }).filter((w) => w.inputIds.length > 2)
    : [];
  const lengths = windows.map((w) => w.inputIds.length);
  const plan: Array<{ epoch: number; idx: number[] }> = [];
  const epochEnds: number[] = [];
  for (let e = 0; e < epochs; e++) {
    for (const idx of planBatches(lengths, { batchSize, maxTokens: options.maxTokens, seed, epoch: e }))
      plan.push({ epoch: e, idx });
    epochEnds.push(plan.length - 1);
  }
  const totalSteps = plan.length;
  const warmupOpt = options.warmup ?? 0.06;
  const warmup = warmupOpt < 1 ? Math.round(warmupOpt * totalSteps) : Math.round(warmupOpt);
  const opt: OptimizerSettings = {
    lr: options.lr ?? (isPresetName(modelName) ? 5e-4 : 1e-4),
    weightDecay: options.weightDecay ?? 0.01,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    maxGradNorm: 1.0,
  };
  const masking: MaskingOptions = {
    maskProb: options.maskProb,
    maskId: model.tokenizer.maskId,
    vocabSize: model.config.vocab_size,
    seed,
  };
  const fingerprint = hashString(
    JSON.stringify({
      totalSteps,
      seed,
      batchSize,
      maxSeq,
      lr: opt.lr,
      warmup,
      mask: options.maskProb ?? 0.15,
      n: windows.length,
      h: lengths.reduce((h, l, i) => hashString(`${l},${windows[i]!.inputIds[1]}`, h), 0),
    }),
  ).toString(16);
  let state: PretrainState = {
    version: 1,
    step: 0,
    totalSteps,
    fingerprint,
    history: [],
    lossSum: 0,
    lossCount: 0,
    trainTokens: 0,
    wallS: 0,
    cpuS: 0,
    curve: [],
    curveSum: 0,
    curveCount: 0,
  };
  if (saved) {
    if (saved.state.fingerprint !== fingerprint) {
      throw new InputError(
        `${lastDir} was written by a run with other text or settings (batch size, epochs, lr, seed, max length or masking differ); use the same options, or start afresh without --resume`,
      );
    }
    state = { cpuS: 0, curve: [], curveSum: 0, curveCount: 0, ...saved.state };
  }
  const resumedAt = saved ? state.step : undefined;
  const engine = await BertEngine.create(model.config, model.params, {
    threads: options.threads,
    seed,
    optimizerState: saved?.optimizer,
    head: 'masked-lm',
  });

  const progressOpts: ProgressOptions | false =
    options.progress === false
      ? false
      : { label: 'pretrain', unit: 'steps', ...(typeof options.progress === 'object' ? options.progress : {}) };
  const bar = progressOpts ? new Progress(totalSteps, progressOpts) : undefined;
  if (bar && state.step > 0) bar.resumeAt(state.step);
  const say = (line: string): void => {
    if (options.log) options.log(line);
    else if (bar) bar.log(line);
  };
  const c = model.config;
  if (saved) say(`resuming ${out} at step ${state.step}/${totalSteps}`);
  else {
    say(
      `pretraining ${modelName} (H${c.hidden_size}/L${c.num_hidden_layers}/A${c.num_attention_heads}) as a masked LM on ` +
        `${options.text.length} sentences (${windows.length} windows, ${lengths.reduce((a, b) => a + b, 0)} sub-words): ` +
        `${totalSteps} steps over ${epochs} epochs, lr ${opt.lr}, ${warmup} warm-up steps`,
    );
    for (const note of model.notes) say(note);
  }

  let segmentStart = Date.now();
  let cpuStart = process.cpuUsage();
  const elapsed = () => state.wallS + (Date.now() - segmentStart) / 1000;
  const cpuNow = (): number => {
    const u = process.cpuUsage(cpuStart);
    return (state.cpuS ?? 0) + (u.user + u.system) / 1e6;
  };
  const logEvery = options.logEvery ?? 100;
  const unigramDevLoss = devWindows.length ? unigramLoss(windows, devWindows, masking, wp.padId) : undefined;
  if (unigramDevLoss !== undefined)
    say(`held-out loss of sub-word frequencies alone (unigram baseline): ${formatNumber(unigramDevLoss)}`);
  const saveLast = async (): Promise<void> => {
    state.wallS += (Date.now() - segmentStart) / 1000;
    state.cpuS = cpuNow();
    segmentStart = Date.now();
    cpuStart = process.cpuUsage();
    await savePretrainState(
      lastDir,
      { config: c, params: engine.params, tokenizer: model.tokenizer },
      engine.optimizer,
      state,
    );
  };
  const saveModel = async (): Promise<void> => {
    await saveMlmCheckpoint(
      modelDir,
      { config: c, params: engine.params, tokenizer: model.tokenizer },
      { step: state.step, totalSteps, history: state.history },
    );
  };
  const devLoss = async (): Promise<number | undefined> => {
    if (!devWindows.length) return undefined;
    let sum = 0;
    let n = 0;
    for (const idx of planBatches(
      devWindows.map((w) => w.inputIds.length),
      { batchSize: 64, seed: 0, epoch: 0, shuffle: false },
    )) {
      const b = collateMasked(devWindows as EncodedWindow[], idx, -1, wp.padId, { ...masking, seed: 1 });
      if (b.maskedPositions.length === 0) continue;
      const r = await engine.lossAndGradients(b);
      sum += r.loss * b.maskedPositions.length;
      n += b.maskedPositions.length;
    }
    return n ? sum / n : undefined;
  };

  let interrupted = false;
  let timeUp = false;
  let stepsThisCall = 0;
  let ema: number | undefined;
  try {
    while (state.step < totalSteps) {
      if (options.signal?.aborted || (options.stopAfter !== undefined && stepsThisCall >= options.stopAfter)) {
        interrupted = true;
        break;
      }
      if (options.maxTimeS !== undefined && (Date.now() - t0) / 1000 >= options.maxTimeS) {
        timeUp = true;
        break;
      }
      const { epoch, idx } = plan[state.step]!;
      const batch = collateMasked(windows, idx, epoch, wp.padId, masking);
      const lr = lrAt(state.step, totalSteps, warmup, opt.lr);
      const res = await engine.trainStep(batch, lr, { ...opt, lr });
      if (!Number.isFinite(res.loss))
        throw new Error(`pretraining diverged at step ${state.step + 1}: loss ${res.loss} (try a lower --lr)`);
      state.lossSum += res.loss;
      state.lossCount++;
      state.curveSum = (state.curveSum ?? 0) + res.loss;
      state.curveCount = (state.curveCount ?? 0) + 1;
      state.trainTokens += batch.attentionMask.reduce((a, b) => a + b, 0);
      ema = ema === undefined ? res.loss : 0.95 * ema + 0.05 * res.loss;
      const step = state.step;
      state.step++;
      stepsThisCall++;
      bar?.update(state.step, { epoch: `${epoch + 1}/${epochs}`, loss: ema, lr });
      if (logEvery > 0 && state.step % logEvery === 0 && state.curveCount) {
        const pt = { step: state.step, loss: state.curveSum / state.curveCount, wallS: elapsed(), cpuS: cpuNow() };
        state.curve?.push(pt);
        state.curveSum = 0;
        state.curveCount = 0;
        say(
          `step ${pt.step}/${totalSteps}: masked-LM loss ${formatNumber(pt.loss)} (mean of ${logEvery} steps), ${(pt.wallS / 60).toFixed(1)} min, ${(pt.cpuS / 60).toFixed(1)} CPU-min`,
        );
      }
      if (epochEnds.includes(step)) {
        const rec: PretrainEpoch = {
          epoch: epoch + 1,
          step: state.step,
          trainLoss: state.lossSum / state.lossCount,
          wallS: elapsed(),
          cpuS: cpuNow(),
        };
        const dl = await devLoss();
        if (dl !== undefined) rec.devLoss = dl;
        state.history.push(rec);
        state.lossSum = 0;
        state.lossCount = 0;
        say(
          `epoch ${rec.epoch}/${epochs} (step ${rec.step}): masked-LM loss ${formatNumber(rec.trainLoss)}${dl !== undefined ? ` | held-out ${formatNumber(dl)}` : ''}`,
        );
        await saveModel();
        await saveLast();
      } else if (state.step % (options.saveEvery ?? 200) === 0) {
        await saveLast();
      }
    }
    if (interrupted) {
      await saveLast();
      say(`stopped at step ${state.step}/${totalSteps}; resume with --resume`);
    } else {
      if (timeUp) {
        if (state.lossCount) {
          const rec: PretrainEpoch = {
            epoch: plan[Math.max(0, state.step - 1)]!.epoch + 1,
            step: state.step,
            trainLoss: state.lossSum / state.lossCount,
            wallS: elapsed(),
            cpuS: cpuNow(),
          };
          const dl = await devLoss();
          if (dl !== undefined) rec.devLoss = dl;
          state.history.push(rec);
          state.lossSum = 0;
          state.lossCount = 0;
        }
        say(`time budget reached at step ${state.step}/${totalSteps}: ${modelDir} holds the weights reached`);
        await saveModel();
      }
      await saveLast();
      await writeFile(path.join(out, 'history.json'), `${JSON.stringify(state.history, null, 2)}\n`);
      await writeFile(
        path.join(out, 'curve.json'),
        `${JSON.stringify({ unigramDevLoss, cpuS: state.cpuS, wallS: state.wallS, curve: state.curve }, null, 2)}\n`,
      );
    }
  } finally {
    bar?.stop();
    await engine.release();
  }
  return {
    out,
    modelDir,
    steps: state.step,
    totalSteps,
    interrupted,
    timeUp,
    resumedAt,
    history: state.history,
    curve: state.curve ?? [],
    unigramDevLoss,
    trainTokens: state.trainTokens,
    cpuS: state.cpuS ?? 0,
    wallS: (Date.now() - t0) / 1000,
  };
}

/**
 * The held-out masked-LM loss of a model that knows only sub-word frequencies: the mean cross-entropy of
 * the held-out masked tokens (the same fixed masks as the held-out loss) under the unigram distribution of
 * the training text's sub-words, add-one smoothed over the vocabulary.
 */
export function unigramLoss(
  train: readonly EncodedWindow[],
  dev: readonly EncodedWindow[],
  masking: MaskingOptions,
  padId: number,
): number {
  const counts = new Map<number, number>();
  let total = 0;
  for (const w of train)
    for (let i = 1; i < w.inputIds.length - 1; i++) {
      const id = w.inputIds[i]!;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      total++;
    }
  const V = masking.vocabSize;
  let sum = 0;
  let n = 0;
  const lengths = dev.map((w) => w.inputIds.length);
  for (const idx of planBatches(lengths, { batchSize: 64, seed: 0, epoch: 0, shuffle: false })) {
    const b = collateMasked(dev as EncodedWindow[], idx, -1, padId, { ...masking, seed: 1 });
    for (const label of b.maskedLabels) {
      sum -= Math.log(((counts.get(label) ?? 0) + 1) / (total + V));
      n++;
    }
  }
  return n ? sum / n : Number.NaN;
}
