/**
 * A real checkpoint folder with fresh (untrained) weights, for plumbing and throughput, written by the
 * student's `saveCheckpoint` (config.json with id2label, model.safetensors, vocab.txt from bert-base-cased
 * in ../shared/data, tokenizer.json, onnx/model.onnx exported by the engine). Untrained weights predict nonsense labels, which is fine here.
 * Folders are cached in the OS temp dir by preset so test files share them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { saveCheckpoint } from '../../src/student/checkpoint-save.js';
import { BertEngine, initParams } from '../../src/student/engine.js';
import { presetConfig, type PresetName } from '../../src/student/presets.js';
import { Tokenizer } from '../../src/student/tokenizer.js';
import { VOCAB_CASED } from './fixtures.js';

export const CONLL_LABELS = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'];

/** a hash of the student's sources, so a cached checkpoint never outlives the code that made it */
function studentSourceHash(): string {
  const h = createHash('sha256');
  const root = path.resolve(process.cwd(), 'src/student');
  for (const f of (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).sort()) {
    h.update(f).update(readFileSync(path.join(root, f)));
  }
  return h.digest('hex').slice(0, 12);
}

export async function makeCheckpoint(preset: PresetName = 'tiny', seed = 1): Promise<string> {
  const dir = path.join(os.tmpdir(), `nerd-serve-ckpt-${preset}-${seed}-${studentSourceHash()}`);
  if (existsSync(path.join(dir, 'onnx', 'model.onnx'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const tokenizer = await Tokenizer.fromVocabFile(VOCAB_CASED);
  const config = presetConfig(preset, { vocabSize: tokenizer.vocabSize, labels: CONLL_LABELS });
  const params = initParams(config, seed);
  const engine = await BertEngine.create(config, params, { threads: 2 });
  try {
    await saveCheckpoint(tmp, { config, params, tokenizer, onnx: engine.inferenceModel() });
  } finally {
    await engine.release();
  }
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another test file made it first
  }
  return dir;
}
