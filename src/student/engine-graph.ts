/**
 * The engine's ONNX graphs (engine.ts): the training graph of each head (forward, loss, autodiff's backward
 * pass and the squared global gradient norm, with the token classifier's row-sparse word-embedding gradient),
 * the forward graph for evaluation and export, the parameter specs and dropout sites of each head with the
 * check of a parameter map against them, and the onnxruntime session options every student session uses.
 */
import type * as ort from 'onnxruntime-node';
import {
  buildBert,
  buildEncoder,
  checkConfig,
  checkEncoderConfig,
  dropoutSites,
  embeddingSize,
  encoderDropoutSites,
  encoderParamSpecs,
  paramSpecs,
  type DropoutSite,
  type ParamSpec,
} from './bert.js';
import { Graph, gradients, reshape, softmaxCrossEntropy, type Value } from './graph/index.js';
import { buildMlmLoss, mlmHeadSpecs, WORD_EMBEDDINGS } from './mlm-head.js';
import type { BertConfig, ParamMap } from './types.js';

/** token-classification: BertForTokenClassification; masked-lm: BertForMaskedLM (pretraining) */
export type EngineHead = 'token-classification' | 'masked-lm';

const INPUT_NAMES = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
export const gradName = (param: string) => `grad.${param}`;

/**
 * onnxruntime session options of every student session (bench/train.ts times its GEMM probe with them too).
 * The intra-op threads do not spin between kernels: a training step runs ~600 of them, and on a machine
 * whose cores are shared (other trainings, the teacher), a spinning thread takes the core its partner
 * needs to finish the kernel. Measured on the loaded 2-core machine (load average ~16), alternating steps in
 * one process: 3.5 s/step without spinning against 5.9 s/step with it.
 */
export function sessionOptions(threads: number, profilePrefix?: string): ort.InferenceSession.SessionOptions {
  return {
    ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** Declares the three model inputs and the parameters (as graph inputs, or as initializers with data). */
function modelInputs(
  g: Graph,
  specs: ParamSpec[],
  params: ParamMap | null,
  requiresGrad: boolean,
  dims: [string, string],
) {
  const [ids, mask, types] = INPUT_NAMES.map((n) => g.input(n, dims, 'int64'));
  const p = new Map<string, Value>();
  for (const s of specs) {
    p.set(
      s.name,
      params
        ? g.initializer(s.name, s.shape, 'float', params.get(s.name)!.data)
        : g.input(s.name, s.shape, 'float', requiresGrad),
    );
  }
  return { x: { inputIds: ids!, attentionMask: mask!, tokenTypeIds: types! }, p };
}

/** the trainable parameters of a head, in Hugging Face's order */
export function headParamSpecs(config: BertConfig, head: EngineHead): ParamSpec[] {
  return head === 'masked-lm' ? [...encoderParamSpecs(config), ...mlmHeadSpecs(config)] : paramSpecs(config);
}

export function headDropoutSites(config: BertConfig, head: EngineHead): DropoutSite[] {
  return head === 'masked-lm' ? encoderDropoutSites(config) : dropoutSites(config);
}

export function checkHeadParams(config: BertConfig, params: ParamMap, head: EngineHead): void {
  if (head === 'masked-lm') checkEncoderConfig(config);
  else checkConfig(config);
  for (const spec of headParamSpecs(config, head)) {
    const t = params.get(spec.name);
    if (!t) throw new Error(`missing parameter ${spec.name}`);
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new Error(`parameter ${spec.name} has shape [${t.shape}], expected [${spec.shape}]`);
    }
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new Error(`parameter ${spec.name} has ${t.data.length} values, expected ${n}`);
  }
}

/**
 * The training graph: inputs (model inputs, targets, dropout masks, parameters) → loss, one
 * `grad.<param>` output per parameter and the squared global gradient norm.
 *   token-classification: input_slots + word_rows instead of input_ids (see the file comment), labels and
 *     weights [B, T]; the word-embedding gradient output holds the rows of word_rows only.
 *   masked-lm: input_ids, mlm_positions and mlm_labels [M].
 */
export function trainingGraph(config: BertConfig, head: EngineHead = 'token-classification'): Graph {
  const g = new Graph('float', true);
  const specs = headParamSpecs(config, head);
  const dims = ['B', 'T'];
  const H = config.hidden_size;
  const sparse = head === 'token-classification';
  const ids = g.input(sparse ? 'input_slots' : 'input_ids', dims, 'int64');
  const x = {
    inputIds: ids,
    attentionMask: g.input('attention_mask', dims, 'int64'),
    tokenTypeIds: g.input('token_type_ids', dims, 'int64'),
  };
  const p = new Map<string, Value>();
  for (const s of specs) p.set(s.name, g.input(s.name, s.shape, 'float', !(sparse && s.name === WORD_EMBEDDINGS)));
  const wrt = specs.map((s) => p.get(s.name)!);
  if (sparse) {
    const rows = g.input('word_rows', ['U'], 'int64');
    const [compact] = g.node(
      'Gather',
      [p.get(WORD_EMBEDDINGS)!, rows],
      [{ shape: ['U', embeddingSize(config)] }],
      { axis: 0 },
      true,
    );
    p.set(WORD_EMBEDDINGS, compact!);
    wrt[specs.findIndex((s) => s.name === WORD_EMBEDDINGS)] = compact!;
  }
  const masks = new Map<string, Value>();
  const A = config.num_attention_heads;
  for (const s of headDropoutSites(config, head)) {
    masks.set(s.name, g.input(s.name, s.kind === 'hidden' ? ['N', H] : ['B', A, 'T', 'T'], 'float'));
  }
  let loss: Value;
  if (head === 'masked-lm') {
    const { h } = buildEncoder(g, config, p, x, masks);
    loss = buildMlmLoss(config, p, h, g.input('mlm_positions', ['M'], 'int64'), g.input('mlm_labels', ['M'], 'int64'));
  } else {
    const labels = g.input('labels', dims, 'int64');
    const weights = g.input('weights', dims, 'float');
    const { logits2d } = buildBert(g, config, p, x, masks);
    loss = softmaxCrossEntropy(logits2d, reshape(labels, [-1], ['N']), reshape(weights, [-1], ['N']));
  }
  const grads = gradients(g, loss, wrt);
  // squared global gradient norm, summed in the graph (two threads) rather than in another JS pass
  const squares = grads.map((gr) => g.op1('ReduceSumSquare', [gr], [], 'float', { keepdims: 0 }));
  const normSq = g.op1('Sum', squares, [], 'float');
  g.output(loss, 'loss');
  grads.forEach((gr, i) => g.output(gr, gradName(specs[i]!.name)));
  g.output(normSq, 'grad_norm_sq');
  return g;
}

/** Forward graph with parameters as inputs (evaluation) or baked in as initializers (export). */
export function forwardModel(config: BertConfig, params: ParamMap | null): Uint8Array {
  const g = new Graph('float', params === null); // the exported model: standard ONNX ops only
  const { x, p } = modelInputs(g, paramSpecs(config), params, false, ['batch_size', 'sequence_length']);
  const { logits3d } = buildBert(g, config, p, x);
  g.output(logits3d, 'logits');
  const metadata: Record<string, string> = { id2label: JSON.stringify(config.id2label) };
  return g.toModel({ docString: 'nerd BERT token classification', metadata });
}
