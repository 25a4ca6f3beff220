/**
 * A real checkpoint folder with fresh (untrained) weights, for plumbing and throughput: config.json with
 * id2label, vocab.txt (bert-base-cased from ../shared/data), tokenizer_config.json and onnx/model.onnx
 * exported by the student's engine. Untrained weights predict nonsense labels, which is fine here.
 * Folders are cached in the OS temp dir by preset so test files share them.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BertEngine, initParams } from '../../src/student/engine.js';
import { presetConfig, type PresetName } from '../../src/student/presets.js';
import { VOCAB_CASED } from './fixtures.js';

export const CONLL_LABELS = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'];

export async function makeCheckpoint(preset: PresetName = 'tiny', seed = 1): Promise<string> {
  const dir = path.join(os.tmpdir(), `nerd-serve-ckpt-${preset}-${seed}-v1`);
  if (existsSync(path.join(dir, 'onnx', 'model.onnx'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(path.join(tmp, 'onnx'), { recursive: true });
  const vocab = readFileSync(VOCAB_CASED, 'utf8').split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
  const config = presetConfig(preset, { vocabSize: vocab.length, labels: CONLL_LABELS });
  const engine = await BertEngine.create(config, initParams(config, seed), { threads: 2 });
  try {
    writeFileSync(path.join(tmp, 'onnx', 'model.onnx'), engine.inferenceModel());
  } finally {
    await engine.release();
  }
  writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(config, null, 2));
  copyFileSync(VOCAB_CASED, path.join(tmp, 'vocab.txt'));
  writeFileSync(
    path.join(tmp, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: false, model_max_length: 512 }, null, 2),
  );
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another test file made it first
  }
  return dir;
}
