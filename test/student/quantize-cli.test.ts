/**
 * `nerd export --quantize int8`, `nerd predict --quantized`, `nerd forward --quantized` through the real
 * command line (spawned processes) on a fresh tiny checkpoint.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import { runCli } from '../helpers/cli.js';
import { DATA } from '../helpers/data.js';
import { makeCheckpoint } from '../serve/model-fixture.js';

vi.setConfig({ testTimeout: 300_000 });

const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-q8-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const nerd = (...args: string[]) => runCli(args);

describe('int8 from the command line', () => {
  it('exports model_quantized.onnx, predicts and forwards with it, and says how to make it when missing', async () => {
    const model = path.join(tmp, 'model');
    cpSync(await makeCheckpoint('tiny'), model, { recursive: true });
    const input = path.join(tmp, 'in.conll');
    const dev = readFileSync(path.join(DATA, 'conll2003/dev.txt'), 'utf8');
    writeFileSync(
      input,
      `${dev
        .split(/\n\s*\n/)
        .slice(0, 30)
        .join('\n\n')}\n\n`,
    );

    const missing = await nerd(
      'predict',
      '--model',
      model,
      '--input',
      input,
      '--out',
      path.join(tmp, 'x.conll'),
      '--quantized',
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /no onnx\/model_quantized\.onnx: make it with "nerd export --model .* --quantize int8"/,
    );

    const ex = await nerd('export', '--model', model, '--quantize', 'int8');
    expect(ex.code).toBe(0);
    expect(ex.stderr).toMatch(/wrote .*model_quantized\.onnx: 13 matrix products in int8/);
    expect(existsSync(path.join(model, 'onnx', 'model_quantized.onnx'))).toBe(true);

    const out = path.join(tmp, 'out.conll');
    const p = await nerd('predict', '--model', model, '--input', input, '--out', out, '--quantized', '--chunk', '7');
    expect(p.code).toBe(0);
    const read = readCorpus(out);
    expect(read.corpus.sentences.map((s) => s.tokens)).toEqual(readCorpus(input).corpus.sentences.map((s) => s.tokens));

    const [f32, q8] = await Promise.all([
      nerd('forward', '--model', model, '--ids', '[[101, 1109, 1362, 102]]'),
      nerd('forward', '--model', model, '--ids', '[[101, 1109, 1362, 102]]', '--quantized'),
    ]);
    const a = JSON.parse(f32.stdout) as number[][][];
    const b = JSON.parse(q8.stdout) as number[][][];
    expect(b[0]).toHaveLength(4);
    const diff = Math.max(...a[0]!.flatMap((row, t) => row.map((x, l) => Math.abs(x - b[0]![t]![l]!))));
    const scale = Math.max(...a[0]!.flat().map(Math.abs));
    expect(diff).toBeGreaterThan(0); // really the other graph
    expect(diff).toBeLessThan(0.1 * scale);

    const bad = await nerd('export', '--model', model, '--quantize', 'int4');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--quantize: only int8 is supported, got "int4"/);
  });
});
