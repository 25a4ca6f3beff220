/**
 * `--model ORG/NAME`: a checkpoint served by a hub-layout HTTP server on 127.0.0.1 is downloaded by
 * `nerd predict` into the standard hub cache ($HF_HOME/hub/models--ORG--NAME with blobs/, snapshots/,
 * refs/), then used again with the server gone and HF_HUB_OFFLINE=1; unknown models fail with one line.
 */
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initParams } from '../../src/student/bert.js';
import { saveCheckpoint } from '../../src/student/checkpoint-save.js';
import { parseHubName, wantedFiles } from '../../src/student/hub.js';
import { presetConfig } from '../../src/student/presets.js';
import { Tokenizer } from '../../src/student/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { type HubServer, startHub } from './hub-server.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-hub-'));
const repoDir = path.join(tmp, 'repo');
const hfHome = path.join(tmp, 'hf');
const COMMIT = 'c0ffee'.padEnd(40, '0');
let hub: HubServer;

const nerd = (env: Record<string, string>, ...args: string[]) =>
  runCli(args, { env: { HF_HOME: hfHome, HF_TOKEN: '', ...env } });
/** `nerd predict --model MODEL` on the one-sentence input, tags to standard output */
const predict = (env: Record<string, string>, model: string) =>
  nerd(env, 'predict', '--model', model, '--input', path.join(tmp, 'input.txt'), '--out', '-');

beforeAll(async () => {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'John', 'lives', 'in', 'Paris', '.', '##s'];
  writeFileSync(path.join(tmp, 'vocab.txt'), `${vocab.join('\n')}\n`);
  const tokenizer = await Tokenizer.fromVocabFile(path.join(tmp, 'vocab.txt'));
  const config = presetConfig('tiny', { vocabSize: vocab.length, labels: ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'] });
  Object.assign(config, {
    hidden_size: 8,
    num_attention_heads: 2,
    num_hidden_layers: 1,
    intermediate_size: 16,
    max_position_embeddings: 32,
  });
  // a Hugging Face style folder: weights and tokenizer, no onnx/ (predict exports the graph on the fly)
  await saveCheckpoint(repoDir, { config, params: initParams(config, 1), tokenizer });
  writeFileSync(
    path.join(tmp, 'input.txt'),
    'John NNP B-NP O\nlives VBZ B-VP O\nin IN B-PP O\nParis NNP B-NP O\n. . O O\n\n',
  );
  hub = await startHub({ 'test-org/tiny-bert': { dir: repoDir, commit: COMMIT } });
});

afterAll(async () => {
  await hub?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('hub names', () => {
  it('parses ORG/NAME[@REVISION] and nothing else', () => {
    expect(parseHubName('google-bert/bert-base-cased')).toEqual({
      repo: 'google-bert/bert-base-cased',
      revision: 'main',
    });
    expect(parseHubName('org/name@v1.0')).toEqual({ repo: 'org/name', revision: 'v1.0' });
    expect(parseHubName('org/name@refs/pr/1')).toEqual({ repo: 'org/name', revision: 'refs/pr/1' });
    for (const bad of ['bert-base-cased', 'a/b/c', '../x', 'org/..', 'org/name@', './runs/best', '/abs/path']) {
      expect(parseHubName(bad), bad).toBeNull();
    }
  });

  it('fetches config, tokenizer and one weights format', () => {
    const files = ['config.json', 'model.safetensors', 'pytorch_model.bin', 'tf_model.h5', 'vocab.txt', 'README.md'];
    expect(wantedFiles(files).files.sort()).toEqual(['config.json', 'model.safetensors', 'vocab.txt']);
    expect(wantedFiles(['config.json', 'pytorch_model.bin.index.json', 'pytorch_model-00001-of-00002.bin'])).toEqual({
      files: ['config.json', 'pytorch_model.bin.index.json'],
      index: 'pytorch_model.bin.index.json',
    });
  });
});

describe('nerd predict --model ORG/NAME', () => {
  const storage = path.join(hfHome, 'hub', 'models--test-org--tiny-bert');
  let online: string;

  it('downloads into the hub cache layout and predicts', async () => {
    const r = await predict({ HF_ENDPOINT: hub.url }, 'test-org/tiny-bert');
    expect(r.stderr).toContain('wrote standard output: 1 sentences');
    expect(r.code).toBe(0);
    online = r.stdout;
    expect(online.split('\n')[0]).toMatch(/^John /);
    expect(readFileSync(path.join(storage, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    expect(readdirSync(path.join(storage, 'snapshots'))).toEqual([COMMIT]);
    const snap = path.join(storage, 'snapshots', COMMIT);
    expect(readdirSync(snap).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.txt',
    ]);
    for (const f of readdirSync(snap)) {
      expect(lstatSync(path.join(snap, f)).isSymbolicLink(), f).toBe(true);
      expect(readlinkSync(path.join(snap, f))).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{40,64}$/);
    }
    // LFS files are named by their sha256 (64 hex), git files by their blob id (40 hex)
    const weights = readlinkSync(path.join(snap, 'model.safetensors'));
    expect(path.basename(weights)).toHaveLength(64);
    expect(path.basename(readlinkSync(path.join(snap, 'config.json')))).toHaveLength(40);
    expect(readdirSync(path.join(storage, 'blobs')).some((f) => f.endsWith('.incomplete'))).toBe(false);
    // every file was fetched at the commit, never at the branch
    const fetched = hub.log.filter((l) => l.includes('/resolve/'));
    expect(fetched.length).toBeGreaterThan(0);
    expect(fetched.every((l) => l.includes(`/resolve/${COMMIT}/`))).toBe(true);
  });

  it('runs from the cache with the server stopped and HF_HUB_OFFLINE=1', async () => {
    await hub.close();
    const r = await predict({ HF_ENDPOINT: hub.url, HF_HUB_OFFLINE: '1' }, 'test-org/tiny-bert');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(online);
  });

  it('fails with one line for a model the cache lacks when offline', async () => {
    const r = await predict({ HF_HUB_OFFLINE: '1' }, 'test-org/missing');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(
      'HF_HUB_OFFLINE is set and test-org/missing is not in the hub cache (missing refs/main)',
    );
    expect(existsSync(path.join(hfHome, 'hub', 'models--test-org--missing', 'snapshots'))).toBe(false);
  });

  it('fails with one line for a model the hub does not have', async () => {
    const other = await startHub({});
    try {
      const r = await predict({ HF_ENDPOINT: other.url }, 'test-org/missing');
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('no model test-org/missing on the hub');
    } finally {
      await other.close();
    }
  });

  it('fails with one line for a path that is neither a folder nor a hub name', async () => {
    const r = await predict({}, 'no-such-folder');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('not a hub name');
  });
});
