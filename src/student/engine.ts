/**
 * The student's training/inference engine. BERT is built as an ONNX graph (bert.ts), autodiff appends the
 * backward pass, and onnxruntime-node runs forward + loss + backward in one session call; gradient clipping
 * and AdamW then update the parameters in place (optim.ts). Parameters live in their Float32Arrays; the
 * ort.Tensors fed each step wrap that same memory, so nothing is copied between steps.
 *
 * Dropout masks are inputs of the training graph, generated from Rng(seed, step): a run resumed at step k
 * (optimizer.step = k) draws exactly the masks the uninterrupted run would have drawn.
 */
import * as ort from 'onnxruntime-node';
import { buildBert, checkParams, dropoutSites, numLabels, paramSpecs, type DropoutSite, type ParamSpec } from './bert.js';
import { Graph, gradients, reshape, softmaxCrossEntropy, type Value } from './graph/index.js';
import { Rng } from '../random.js';
import { adamwUpdate, clipCoefficient, newOptimizerState } from './optim.js';
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

const INPUT_NAMES = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
const gradName = (param: string) => `grad.${param}`;

function int64(src: Int32Array | undefined, n: number, fill = 0): BigInt64Array {
  const out = new BigInt64Array(n);
  if (src) for (let i = 0; i < n; i++) out[i] = BigInt(src[i]!);
  else if (fill !== 0) out.fill(BigInt(fill));
  return out;
}

function sessionOptions(threads: number, profilePrefix?: string): ort.InferenceSession.SessionOptions {
  return {
    ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
}

/** Declares the three model inputs and the parameters (as graph inputs, or as initializers with data). */
function modelInputs(g: Graph, specs: ParamSpec[], params: ParamMap | null, requiresGrad: boolean, dims: [string, string]) {
  const [ids, mask, types] = INPUT_NAMES.map((n) => g.input(n, dims, 'int64'));
  const p = new Map<string, Value>();
  for (const s of specs) {
    p.set(s.name, params ? g.initializer(s.name, s.shape, 'float', params.get(s.name)!.data) : g.input(s.name, s.shape, 'float', requiresGrad));
  }
  return { x: { inputIds: ids!, attentionMask: mask!, tokenTypeIds: types! }, p };
}

export class BertEngine {
  readonly optimizer: OptimizerState;
  private readonly specs: ParamSpec[];
  private readonly sites: DropoutSite[];
  private readonly paramTensors = new Map<string, ort.Tensor>();
  private readonly maskBuffers = new Map<string, Float32Array>();
  private evalSession: ort.InferenceSession | null = null;
  private liveRows: Uint8Array | null = null;
  /** phase timings of the last trainStep */
  lastTimings: StepTimings = { feeds: 0, run: 0, optimizer: 0 };

  private constructor(
    readonly config: BertConfig,
    readonly params: ParamMap,
    private readonly trainSession: ort.InferenceSession,
    private readonly threads: number,
    private readonly seed: number,
    optimizer: OptimizerState | undefined,
  ) {
    this.specs = paramSpecs(config);
    this.sites = dropoutSites(config);
    this.optimizer = optimizer ?? newOptimizerState(params);
    for (const s of this.specs) {
      this.paramTensors.set(s.name, new ort.Tensor('float32', params.get(s.name)!.data, s.shape));
      if (!this.optimizer.m.has(s.name)) this.optimizer.m.set(s.name, new Float32Array(params.get(s.name)!.data.length));
      if (!this.optimizer.v.has(s.name)) this.optimizer.v.set(s.name, new Float32Array(params.get(s.name)!.data.length));
    }
  }

  static async create(config: BertConfig, params: ParamMap, opts: EngineOptions = {}): Promise<BertEngine> {
    checkParams(config, params);
    const threads = opts.threads ?? 2;
    const model = BertEngine.trainingModel(config);
    const session = await ort.InferenceSession.create(model, sessionOptions(threads, opts.profilePrefix));
    return new BertEngine(config, params, session, threads, opts.seed ?? 0, opts.optimizerState);
  }

  /** The training graph: inputs (model inputs, labels, weights, dropout masks, parameters) → loss and one
   * `grad.<param>` output per parameter. */
  static trainingModel(config: BertConfig): Uint8Array {
    const g = new Graph('float', true);
    const specs = paramSpecs(config);
    const { x, p } = modelInputs(g, specs, null, true, ['B', 'T']);
    const labels = g.input('labels', ['B', 'T'], 'int64');
    const weights = g.input('weights', ['B', 'T'], 'float');
    const masks = new Map<string, Value>();
    const A = config.num_attention_heads;
    for (const s of dropoutSites(config)) {
      masks.set(s.name, g.input(s.name, s.kind === 'hidden' ? ['N', config.hidden_size] : ['B', A, 'T', 'T'], 'float'));
    }
    const { logits2d } = buildBert(g, config, p, x, masks);
    const loss = softmaxCrossEntropy(logits2d, reshape(labels, [-1], ['N']), reshape(weights, [-1], ['N']));
    const wrt = specs.map((s) => p.get(s.name)!);
    const grads = gradients(g, loss, wrt);
    // squared global gradient norm, summed in the graph (two threads) rather than in another JS pass
    const squares = grads.map((gr) => g.op1('ReduceSumSquare', [gr], [], 'float', { keepdims: 0 }));
    const normSq = g.op1('Sum', squares, [], 'float');
    g.output(loss, 'loss');
    grads.forEach((gr, i) => g.output(gr, gradName(specs[i]!.name)));
    g.output(normSq, 'grad_norm_sq');
    return g.toModel({ docString: 'nerd BERT token classification: training step (loss and gradients)' });
  }

  /** Forward graph with parameters as inputs (evaluation) or baked in as initializers (export). */
  private static forwardModel(config: BertConfig, params: ParamMap | null): Uint8Array {
    const g = new Graph('float', params === null); // the exported model: standard ONNX ops only
    const { x, p } = modelInputs(g, paramSpecs(config), params, false, ['batch_size', 'sequence_length']);
    const { logits3d } = buildBert(g, config, p, x);
    g.output(logits3d, 'logits');
    const metadata: Record<string, string> = { id2label: JSON.stringify(config.id2label) };
    return g.toModel({ docString: 'nerd BERT token classification', metadata });
  }

  private modelFeeds(batch: Batch): Record<string, ort.Tensor> {
    const n = batch.batchSize * batch.seqLen;
    if (batch.inputIds.length !== n || batch.attentionMask.length !== n) {
      throw new Error(`batch arrays must hold batchSize × seqLen = ${n} values`);
    }
    if (batch.seqLen > this.config.max_position_embeddings) {
      throw new Error(`sequence length ${batch.seqLen} exceeds max_position_embeddings ${this.config.max_position_embeddings}: split long inputs into windows`);
    }
    const dims = [batch.batchSize, batch.seqLen];
    const types = batch.tokenTypeIds;
    return {
      input_ids: new ort.Tensor('int64', int64(batch.inputIds, n), dims),
      attention_mask: new ort.Tensor('int64', int64(batch.attentionMask, n), dims),
      token_type_ids: new ort.Tensor('int64', int64(types, n), dims),
    };
  }

  private trainFeeds(batch: Batch, dropout: boolean): Record<string, ort.Tensor> {
    if (!batch.labels) throw new Error('training needs batch.labels');
    const B = batch.batchSize;
    const T = batch.seqLen;
    const n = B * T;
    const feeds = this.modelFeeds(batch);
    feeds.labels = new ort.Tensor('int64', int64(batch.labels, n), [B, T]);
    const weights = batch.weights ?? new Float32Array(n).fill(1);
    if (weights.length !== n) throw new Error(`batch.weights must hold ${n} values`);
    feeds.weights = new ort.Tensor('float32', weights, [B, T]);
    const rng = new Rng(this.seed, this.optimizer.step);
    const A = this.config.num_attention_heads;
    for (const site of this.sites) {
      const shape = site.kind === 'hidden' ? [n, this.config.hidden_size] : [B, A, T, T];
      const size = shape.reduce((a, b) => a * b, 1);
      // one buffer per site, grown as needed; batches of other shapes use a view of its start
      let whole = this.maskBuffers.get(site.name);
      if (!whole || whole.length < size) this.maskBuffers.set(site.name, (whole = new Float32Array(size)));
      const buf = whole.subarray(0, size);
      if (dropout) rng.dropoutMask(buf, site.p);
      else buf.fill(1);
      feeds[site.name] = new ort.Tensor('float32', buf, shape);
    }
    for (const [name, t] of this.paramTensors) feeds[name] = t;
    return feeds;
  }

  /** Loss and gradients at the current parameters, without updating them (dropout off unless asked). */
  async lossAndGradients(batch: Batch, opts: { dropout?: boolean } = {}): Promise<Gradients> {
    const t0 = performance.now();
    const feeds = this.trainFeeds(batch, opts.dropout ?? false);
    const t1 = performance.now();
    const out = await this.trainSession.run(feeds);
    this.lastTimings.feeds = t1 - t0;
    this.lastTimings.run = performance.now() - t1;
    const grads = new Map<string, Float32Array>();
    for (const s of this.specs) grads.set(s.name, out[gradName(s.name)]!.data as Float32Array);
    let normSq = Number(out.grad_norm_sq!.data[0]);
    // Hugging Face's word embedding has padding_idx = pad_token_id: PyTorch never gives that row a gradient.
    const pad = this.config.pad_token_id;
    if (typeof pad === 'number' && pad >= 0 && pad < this.config.vocab_size) {
      const H = this.config.hidden_size;
      const row = grads.get('bert.embeddings.word_embeddings.weight')!.subarray(pad * H, (pad + 1) * H);
      for (const x of row) normSq -= x * x;
      row.fill(0);
    }
    return { loss: Number(out.loss!.data[0]), grads, gradNorm: Math.sqrt(Math.max(0, normSq)) };
  }

  /** One training step: forward (dropout on) + loss + backward, global-norm clipping, AdamW; parameters are
   * updated in place and optimizer.step advances by one. */
  async trainStep(batch: Batch, lr: number, opt: OptimizerSettings): Promise<StepResult> {
    const { loss, grads, gradNorm } = await this.lossAndGradients(batch, { dropout: true });
    const t0 = performance.now();
    const coef = clipCoefficient(gradNorm, opt.maxGradNorm);
    const step = this.optimizer.step + 1;
    const wordName = 'bert.embeddings.word_embeddings.weight';
    const live = this.liveWordRows();
    for (let i = 0; i < batch.inputIds.length; i++) live[batch.inputIds[i]!] = 1;
    for (const s of this.specs) {
      const settings = { beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, weightDecay: s.decay ? opt.weightDecay : 0 };
      const p = this.params.get(s.name)!.data;
      const g = grads.get(s.name)!;
      const m = this.optimizer.m.get(s.name)!;
      const v = this.optimizer.v.get(s.name)!;
      if (s.name !== wordName) {
        adamwUpdate(p, g, m, v, step, lr, settings, coef);
        continue;
      }
      // Word-embedding rows never seen so far have m = v = 0 and no gradient, so AdamW reduces exactly to
      // the weight decay p·(1 − lr·wd); only live rows (seen in this or an earlier batch) need the full update.
      const H = this.config.hidden_size;
      const decay = 1 - lr * settings.weightDecay;
      for (let row = 0; row < live.length; ) {
        let end = row;
        while (end < live.length && live[end] === live[row]) end++;
        const a = row * H;
        const b = end * H;
        if (live[row]) adamwUpdate(p.subarray(a, b), g.subarray(a, b), m.subarray(a, b), v.subarray(a, b), step, lr, settings, coef);
        else if (decay !== 1) for (let i = a; i < b; i++) p[i] = p[i]! * decay;
        row = end;
      }
    }
    this.optimizer.step = step;
    this.lastTimings.optimizer = performance.now() - t0;
    return { loss, gradNorm };
  }

  /** Rows of the word embedding whose AdamW moments may be non-zero (derived from the moments once). */
  private liveWordRows(): Uint8Array {
    if (!this.liveRows) {
      const H = this.config.hidden_size;
      const m = this.optimizer.m.get('bert.embeddings.word_embeddings.weight')!;
      const v = this.optimizer.v.get('bert.embeddings.word_embeddings.weight')!;
      this.liveRows = new Uint8Array(this.config.vocab_size);
      for (let row = 0; row < this.config.vocab_size; row++) {
        for (let i = row * H; i < (row + 1) * H; i++) {
          if (m[i] !== 0 || v[i] !== 0) {
            this.liveRows[row] = 1;
            break;
          }
        }
      }
    }
    return this.liveRows;
  }

  /** Logits [B, T, numLabels] in evaluation mode (no dropout). */
  async logits(batch: Batch): Promise<Float32Array> {
    if (!this.evalSession) {
      this.evalSession = await ort.InferenceSession.create(BertEngine.forwardModel(this.config, null), sessionOptions(this.threads));
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
    return BertEngine.forwardModel(this.config, this.params);
  }

  get numLabels(): number {
    return numLabels(this.config);
  }

  /** Stops onnxruntime profiling (see EngineOptions.profilePrefix); returns the profile file's name. */
  endProfiling(): void {
    this.trainSession.endProfiling();
  }

  async release(): Promise<void> {
    await this.trainSession.release();
    if (this.evalSession) await this.evalSession.release();
    this.evalSession = null;
  }
}
