/**
 * The student's training/inference engine. BERT is built as an ONNX graph (bert.ts), autodiff appends the
 * backward pass, and onnxruntime-node runs forward + loss + backward in one session call; gradient clipping
 * and AdamW then update the parameters in place (optim.ts). Parameters live in their Float32Arrays; the
 * ort.Tensors fed each step wrap that same memory, so nothing is copied between steps.
 *
 * Two heads share the encoder: token classification (BertForTokenClassification, the default) and masked-LM
 * pretraining (BertForMaskedLM, mlm-head.ts). A token classifier's word-embedding gradient is row-sparse: the
 * step feeds the batch's distinct token ids (`word_rows`) and each token's slot among them (`input_slots`),
 * the graph gathers those rows into a compact table and returns the gradient of that table only ([U, H]
 * instead of the whole [vocab, H]); SparseRowsAdamW turns them into dense AdamW's exact update. The
 * masked-LM head's decoder is tied to the word embeddings, so its gradient there is dense.
 *
 * Dropout masks are inputs of the training graph, generated from Rng(seed, step): a run resumed at step k
 * (optimizer.step = k) draws exactly the masks the uninterrupted run would have drawn. A worker thread draws
 * step k + 1's masks while step k's AdamW update runs (dropout-masks.ts).
 */
import * as ort from 'onnxruntime-node';
import { embeddingSize, numLabels, type DropoutSite, type ParamSpec } from './bert.js';
import {
  checkHeadParams,
  forwardModel,
  gradName,
  headDropoutSites,
  headParamSpecs,
  sessionOptions,
  trainingGraph,
  type EngineHead,
} from './engine-graph.js';
import type { Graph } from './graph/index.js';
import { WORD_EMBEDDINGS } from './mlm-head.js';
import { fillMasks, MaskPrefetcher, type MaskSpec } from './dropout-masks.js';
import { adamwUpdate, clipCoefficient, newOptimizerState, SparseRowsAdamW } from './optim.js';
import type { Batch, BertConfig, OptimizerSettings, OptimizerState, ParamMap, StepResult } from './types.js';

export { initParams } from './bert.js';

export interface EngineOptions {
  /** onnxruntime intra-op threads (default 2, this machine's cores) */
  threads?: number;
  /** seed of the dropout masks (default 0) */
  seed?: number;
  /** resume: AdamW moments and step count */
  optimizerState?: OptimizerState;
  /** write an onnxruntime profile (JSON, per-node timings) with this file prefix; see endProfiling() */
  profilePrefix?: string;
  /** default token-classification */
  head?: EngineHead;
  /** draw the next step's dropout masks in a worker thread during the optimizer update (default true;
   * dropout-masks.ts). The masks are the same either way. */
  maskWorker?: boolean;
}

/** A masked-LM batch: the flat positions (into batchSize × seqLen) that were masked and their original ids. */
export interface MaskedBatch extends Batch {
  maskedPositions: Int32Array;
  maskedLabels: Int32Array;
}

/** Wall-clock milliseconds of the last trainStep's phases. */
export interface StepTimings {
  feeds: number;
  run: number;
  optimizer: number;
}

export interface Gradients {
  loss: number;
  grads: Map<string, Float32Array>;
  /** global L2 norm of all gradients */
  gradNorm: number;
}

function int64(src: ArrayLike<number> | undefined, n: number, fill = 0): BigInt64Array {
  const out = new BigInt64Array(n);
  if (src) for (let i = 0; i < n; i++) out[i] = BigInt(src[i]!);
  else if (fill !== 0) out.fill(BigInt(fill));
  return out;
}

/** distinct token ids of a batch (first-appearance order) and each token's slot among them */
class RowIndex {
  private stamp: Int32Array;
  private slotOf: Int32Array;
  private generation = 0;
  constructor(vocab: number) {
    this.stamp = new Int32Array(vocab);
    this.slotOf = new Int32Array(vocab);
  }
  index(ids: Int32Array): { rows: Int32Array; slots: BigInt64Array } {
    const gen = ++this.generation;
    const slots = new BigInt64Array(ids.length);
    const rows: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id < 0 || id >= this.stamp.length)
        throw new Error(`token id ${id} is outside the vocabulary (size ${this.stamp.length})`);
      if (this.stamp[id] !== gen) {
        this.stamp[id] = gen;
        this.slotOf[id] = rows.length;
        rows.push(id);
      }
      slots[i] = BigInt(this.slotOf[id]!);
    }
    return { rows: Int32Array.from(rows), slots };
  }
}

interface RawStep {
  loss: number;
  grads: Map<string, Float32Array>;
  normSq: number;
  /** token classification: the word-embedding rows `grads` holds for that parameter */
  wordRows?: Int32Array;
}

export class BertEngine {
  readonly optimizer: OptimizerState;
  private readonly specs: ParamSpec[];
  private readonly sites: DropoutSite[];
  private readonly paramTensors = new Map<string, ort.Tensor>();
  private readonly maskBuffers = new Map<string, Float32Array>();
  private evalSession: ort.InferenceSession | null = null;
  private readonly wordAdam: SparseRowsAdamW | null;
  private readonly prefetcher: MaskPrefetcher | null;
  private readonly rowIndex: RowIndex | null;
  /** phase timings of the last trainStep */
  lastTimings: StepTimings = { feeds: 0, run: 0, optimizer: 0 };
  /** whether the last step's dropout masks came from the worker (drawn during the previous update) */
  lastMasksPrefetched = false;

  private constructor(
    readonly config: BertConfig,
    private readonly weights: ParamMap,
    private readonly trainSession: ort.InferenceSession,
    private readonly threads: number,
    private readonly seed: number,
    optimizer: OptimizerState | undefined,
    readonly head: EngineHead,
    maskWorker: boolean,
  ) {
    this.specs = headParamSpecs(config, head);
    this.sites = headDropoutSites(config, head);
    this.optimizer = optimizer ?? newOptimizerState(new Map(this.specs.map((s) => [s.name, weights.get(s.name)!])));
    for (const s of this.specs) {
      const t = weights.get(s.name)!;
      // the sparse path feeds the word table whole and gathers rows in the graph
      this.paramTensors.set(s.name, new ort.Tensor('float32', t.data, s.shape));
      if (!this.optimizer.m.has(s.name)) this.optimizer.m.set(s.name, new Float32Array(t.data.length));
      if (!this.optimizer.v.has(s.name)) this.optimizer.v.set(s.name, new Float32Array(t.data.length));
    }
    const sparse = head === 'token-classification';
    this.wordAdam = sparse ? new SparseRowsAdamW(config.vocab_size, embeddingSize(config)) : null;
    this.rowIndex = sparse ? new RowIndex(config.vocab_size) : null;
    this.prefetcher = maskWorker && this.sites.length > 0 ? new MaskPrefetcher() : null;
  }

  static async create(config: BertConfig, params: ParamMap, opts: EngineOptions = {}): Promise<BertEngine> {
    const head = opts.head ?? 'token-classification';
    checkHeadParams(config, params, head);
    const threads = opts.threads ?? 2;
    const model = BertEngine.trainingGraph(config, head).toModel({
      docString: `nerd BERT ${head}: training step (loss and gradients)`,
    });
    const session = await ort.InferenceSession.create(model, sessionOptions(threads, opts.profilePrefix));
    return new BertEngine(
      config,
      params,
      session,
      threads,
      opts.seed ?? 0,
      opts.optimizerState,
      head,
      opts.maskWorker ?? true,
    );
  }

  /** The parameters, updated in place by each step. */
  get params(): ParamMap {
    return this.weights;
  }

  /** The training graph's ONNX model (see trainingGraph). */
  static trainingModel(config: BertConfig, head: EngineHead = 'token-classification'): Uint8Array {
    return BertEngine.trainingGraph(config, head).toModel({
      docString: `nerd BERT ${head}: training step (loss and gradients)`,
    });
  }

  /** The training graph of a head (engine-graph.ts). */
  static trainingGraph(config: BertConfig, head: EngineHead = 'token-classification'): Graph {
    return trainingGraph(config, head);
  }

  private checkBatch(batch: Batch): void {
    const n = batch.batchSize * batch.seqLen;
    if (batch.inputIds.length !== n || batch.attentionMask.length !== n) {
      throw new Error(`batch arrays must hold batchSize × seqLen = ${n} values`);
    }
    if (batch.seqLen > this.config.max_position_embeddings) {
      throw new Error(
        `sequence length ${batch.seqLen} exceeds max_position_embeddings ${this.config.max_position_embeddings}: split long inputs into windows`,
      );
    }
  }

  private modelFeeds(batch: Batch): Record<string, ort.Tensor> {
    this.checkBatch(batch);
    const n = batch.batchSize * batch.seqLen;
    const dims = [batch.batchSize, batch.seqLen];
    return {
      input_ids: new ort.Tensor('int64', int64(batch.inputIds, n), dims),
      attention_mask: new ort.Tensor('int64', int64(batch.attentionMask, n), dims),
      token_type_ids: new ort.Tensor('int64', int64(batch.tokenTypeIds, n), dims),
    };
  }

  /** the dropout sites' mask shapes for a batch */
  private maskShapes(batch: Batch): number[][] {
    const n = batch.batchSize * batch.seqLen;
    const A = this.config.num_attention_heads;
    return this.sites.map((site) =>
      site.kind === 'hidden' ? [n, this.config.hidden_size] : [batch.batchSize, A, batch.seqLen, batch.seqLen],
    );
  }

  private maskSpecs(batch: Batch): MaskSpec[] {
    return this.maskShapes(batch).map((shape, i) => ({
      p: this.sites[i]!.p,
      size: shape.reduce((a, b) => a * b, 1),
    }));
  }

  private async trainFeeds(
    batch: Batch,
    dropout: boolean,
  ): Promise<{ feeds: Record<string, ort.Tensor>; wordRows?: Int32Array; workerMasks?: Float32Array[] }> {
    const B = batch.batchSize;
    const T = batch.seqLen;
    const n = B * T;
    let feeds: Record<string, ort.Tensor>;
    let wordRows: Int32Array | undefined;
    if (this.head === 'masked-lm') {
      const mb = batch as Partial<MaskedBatch>;
      if (!mb.maskedPositions || !mb.maskedLabels)
        throw new Error('masked-LM training needs batch.maskedPositions and batch.maskedLabels');
      const M = mb.maskedPositions.length;
      if (M === 0 || mb.maskedLabels.length !== M)
        throw new Error('a masked-LM batch needs ≥ 1 masked position and one label per position');
      feeds = this.modelFeeds(batch);
      feeds.mlm_positions = new ort.Tensor('int64', int64(mb.maskedPositions, M), [M]);
      feeds.mlm_labels = new ort.Tensor('int64', int64(mb.maskedLabels, M), [M]);
    } else {
      if (!batch.labels) throw new Error('training needs batch.labels');
      this.checkBatch(batch);
      const dims = [B, T];
      const { rows, slots } = this.rowIndex!.index(batch.inputIds);
      wordRows = rows;
      feeds = {
        input_slots: new ort.Tensor('int64', slots, dims),
        word_rows: new ort.Tensor('int64', int64(rows, rows.length), [rows.length]),
        attention_mask: new ort.Tensor('int64', int64(batch.attentionMask, n), dims),
        token_type_ids: new ort.Tensor('int64', int64(batch.tokenTypeIds, n), dims),
        labels: new ort.Tensor('int64', int64(batch.labels, n), dims),
      };
      const weights = batch.weights ?? new Float32Array(n).fill(1);
      if (weights.length !== n) throw new Error(`batch.weights must hold ${n} values`);
      feeds.weights = new ort.Tensor('float32', weights, dims);
    }
    const shapes = this.maskShapes(batch);
    const specs = this.maskSpecs(batch);
    // drawn ahead by the worker (dropout-masks.ts), or here into one buffer per site, grown as needed
    const workerMasks =
      dropout && this.prefetcher ? await this.prefetcher.take(this.seed, this.optimizer.step, specs) : null;
    const masks =
      workerMasks ??
      this.sites.map((site, i) => {
        let whole = this.maskBuffers.get(site.name);
        if (!whole || whole.length < specs[i]!.size)
          this.maskBuffers.set(site.name, (whole = new Float32Array(specs[i]!.size)));
        return whole;
      });
    if (!workerMasks) {
      if (dropout) fillMasks(this.seed, this.optimizer.step, specs, masks);
      else masks.forEach((m, i) => m.fill(1, 0, specs[i]!.size));
    }
    this.sites.forEach((site, i) => {
      // batches of other shapes use a view of the buffer's start
      feeds[site.name] = new ort.Tensor('float32', masks[i]!.subarray(0, specs[i]!.size), shapes[i]!);
    });
    for (const [name, t] of this.paramTensors) feeds[name] = t;
    return { feeds, wordRows, ...(workerMasks ? { workerMasks } : {}) };
  }

  /** forward + backward at the current parameters; `prefetch`: a training step, whose successor's masks the
   * worker starts drawing once this one's have been used */
  private async run(batch: Batch, dropout: boolean, prefetch = false): Promise<RawStep> {
    const t0 = performance.now();
    const { feeds, wordRows, workerMasks } = await this.trainFeeds(batch, dropout);
    this.lastMasksPrefetched = workerMasks !== undefined;
    const t1 = performance.now();
    const out = await this.trainSession.run(feeds);
    this.lastTimings.feeds = t1 - t0;
    this.lastTimings.run = performance.now() - t1;
    if (this.prefetcher) {
      if (workerMasks) this.prefetcher.recycle(workerMasks);
      if (prefetch) this.prefetcher.request(this.seed, this.optimizer.step + 1, this.maskSpecs(batch));
    }
    const grads = new Map<string, Float32Array>();
    for (const s of this.specs) grads.set(s.name, out[gradName(s.name)]!.data as Float32Array);
    let normSq = Number(out.grad_norm_sq!.data[0]);
    // Hugging Face's word embedding has padding_idx = pad_token_id: PyTorch never gives that row a gradient.
    const pad = this.config.pad_token_id;
    if (typeof pad === 'number' && pad >= 0 && pad < this.config.vocab_size) {
      const H = embeddingSize(this.config);
      const at = wordRows ? wordRows.indexOf(pad) : pad;
      if (at >= 0) {
        const row = grads.get(WORD_EMBEDDINGS)!.subarray(at * H, (at + 1) * H);
        for (const x of row) normSq -= x * x;
        row.fill(0);
      }
    }
    return { loss: Number(out.loss!.data[0]), grads, normSq: Math.max(0, normSq), wordRows };
  }

  /** Loss and gradients at the current parameters, without updating them (dropout off unless asked); the
   * word-embedding gradient is returned whole ([vocab, H]). */
  async lossAndGradients(batch: Batch, opts: { dropout?: boolean } = {}): Promise<Gradients> {
    const r = await this.run(batch, opts.dropout ?? false);
    if (r.wordRows) {
      const H = embeddingSize(this.config);
      const rowsGrad = r.grads.get(WORD_EMBEDDINGS)!;
      const dense = new Float32Array(this.config.vocab_size * H);
      r.wordRows.forEach((row, j) => dense.set(rowsGrad.subarray(j * H, (j + 1) * H), row * H));
      r.grads.set(WORD_EMBEDDINGS, dense);
    }
    return { loss: r.loss, grads: r.grads, gradNorm: Math.sqrt(r.normSq) };
  }

  /** One training step: forward (dropout on) + loss + backward, global-norm clipping, AdamW; parameters are
   * updated in place and optimizer.step advances by one. */
  async trainStep(batch: Batch, lr: number, opt: OptimizerSettings): Promise<StepResult> {
    const { loss, grads, normSq, wordRows } = await this.run(batch, true, true);
    const gradNorm = Math.sqrt(normSq);
    const t0 = performance.now();
    const coef = clipCoefficient(gradNorm, opt.maxGradNorm);
    const step = this.optimizer.step + 1;
    for (const s of this.specs) {
      const settings = { beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, weightDecay: s.decay ? opt.weightDecay : 0 };
      const p = this.weights.get(s.name)!.data;
      const g = grads.get(s.name)!;
      const m = this.optimizer.m.get(s.name)!;
      const v = this.optimizer.v.get(s.name)!;
      if (s.name === WORD_EMBEDDINGS && wordRows) this.wordAdam!.step(p, m, v, wordRows, g, step, lr, settings, coef);
      else adamwUpdate(p, g, m, v, step, lr, settings, coef);
    }
    this.optimizer.step = step;
    this.lastTimings.optimizer = performance.now() - t0;
    return { loss, gradNorm };
  }

  /** Logits [B, T, numLabels] in evaluation mode (no dropout). */
  async logits(batch: Batch): Promise<Float32Array> {
    if (this.head !== 'token-classification') throw new Error('logits() needs a token-classification engine');
    if (!this.evalSession) {
      this.evalSession = await ort.InferenceSession.create(
        forwardModel(this.config, null),
        sessionOptions(this.threads),
      );
    }
    const feeds: Record<string, ort.Tensor> = this.modelFeeds(batch);
    for (const [name, t] of this.paramTensors) feeds[name] = t;
    const out = await this.evalSession.run(feeds);
    return out.logits!.data as Float32Array;
  }

  /** ONNX ModelProto for inference: int64 input_ids / attention_mask / token_type_ids [batch_size,
   * sequence_length] → `logits` [batch_size, sequence_length, numLabels], current weights as initializers,
   * standard ONNX ops only (opset 17), as Hugging Face exports BertForTokenClassification. */
  inferenceModel(): Uint8Array {
    if (this.head !== 'token-classification') throw new Error('inferenceModel() needs a token-classification engine');
    return forwardModel(this.config, this.params);
  }

  get numLabels(): number {
    return numLabels(this.config);
  }

  /** Stops onnxruntime profiling (see EngineOptions.profilePrefix); returns the profile file's name. */
  endProfiling(): void {
    this.trainSession.endProfiling();
  }

  async release(): Promise<void> {
    await this.prefetcher?.terminate();
    await this.trainSession.release();
    if (this.evalSession) await this.evalSession.release();
    this.evalSession = null;
  }
}
