/**
 * PyTorch-format weights (fixtures by scripts/torch_fixture.py with Debian's PyTorch): zip, legacy and
 * sharded `pytorch_model.bin` read without Python give the same tensors and logits as their safetensors
 * twin and as PyTorch itself; a pickle naming any other global is refused with one line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { loadCheckpoint } from '../../src/student/checkpoint.js';
import { BertEngine } from '../../src/student/engine.js';
import { readSafetensors } from '../../src/student/safetensors.js';
import { readTorchFile } from '../../src/student/torch-file.js';
import { readStateDictPickle } from '../../src/student/torch-pickle.js';
import type { Batch } from '../../src/student/types.js';

const FIX = path.join(process.cwd(), 'test/student/fixtures/torch');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-torch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const expected = JSON.parse(readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as {
  ids: number[][];
  logits: number[][][];
};

async function logitsOf(dir: string): Promise<Float32Array> {
  const ck = await loadCheckpoint(dir);
  expect(ck.classifier).toBe('kept');
  const B = expected.ids.length;
  const T = expected.ids[0]!.length;
  const batch: Batch = {
    batchSize: B,
    seqLen: T,
    inputIds: new Int32Array(expected.ids.flat()),
    attentionMask: new Int32Array(expected.ids.flat().map((x) => (x ? 1 : 0))),
  };
  const engine = await BertEngine.create(ck.config, ck.params, { threads: 1 });
  try {
    return await engine.logits(batch);
  } finally {
    await engine.release();
  }
}

describe('readTorchFile', () => {
  it('reads zip and legacy files as the same tensors as the safetensors twin (views, tied and int64 included)', async () => {
    const twin = (await readSafetensors(path.join(FIX, 'safetensors/model.safetensors'))).tensors;
    for (const kind of ['zip', 'legacy']) {
      const { tensors } = await readTorchFile(path.join(FIX, kind, 'pytorch_model.bin'));
      expect([...tensors.keys()].sort(), kind).toEqual([...twin.keys()].sort());
      for (const [name, t] of twin) {
        const got = tensors.get(name)!;
        expect(got.shape, `${kind} ${name}`).toEqual(t.shape);
        expect(got.dtype, `${kind} ${name}`).toBe(t.dtype);
        expect(
          Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(
            Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
          ),
          `${kind} ${name}`,
        ).toBe(true);
      }
      expect(tensors.get('bert.embeddings.position_ids')!.dtype).toBe('I64');
      expect(Array.from(tensors.get('bert.embeddings.position_ids')!.data.slice(0, 4))).toEqual([0, 1, 2, 3]);
    }
  });

  it('reads only the selected tensors', async () => {
    const { tensors } = await readTorchFile(path.join(FIX, 'zip/pytorch_model.bin'), {
      select: (n) => n.startsWith('classifier.'),
    });
    expect([...tensors.keys()].sort()).toEqual(['classifier.bias', 'classifier.weight']);
  });
});

describe('loadCheckpoint with pytorch_model.bin', () => {
  it('gives the same logits as the safetensors twin and as PyTorch (zip, legacy, sharded)', async () => {
    const twin = await logitsOf(path.join(FIX, 'safetensors'));
    const flatTorch = expected.logits.flat(2);
    let worst = 0;
    for (let i = 0; i < twin.length; i++) worst = Math.max(worst, Math.abs(twin[i]! - flatTorch[i]!));
    expect(worst).toBeLessThan(1e-4);
    for (const kind of ['zip', 'legacy', 'sharded']) {
      const got = await logitsOf(path.join(FIX, kind));
      expect(Array.from(got), kind).toEqual(Array.from(twin));
    }
  });
});

describe('refusals', () => {
  it('refuses a torch.save file whose pickle names os.system, naming the global', async () => {
    const err = await readTorchFile(path.join(FIX, 'evil.bin')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const line = (err as InputError).format();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(/refused: the pickle names the global (posix|os)\.system/);
    expect(line).toContain('evil.bin');
  });

  it('refuses other globals and opcodes in a raw pickle', () => {
    // protocol 2: GLOBAL builtins.eval, a string, TUPLE1, REDUCE, STOP
    const evalPickle = Buffer.from('\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1q\x00\x85R.', 'latin1');
    expect(() => readStateDictPickle(evalPickle, 'x.pkl')).toThrow(/global builtins\.eval/);
    // INST (0x69) is not an opcode a state dict uses
    expect(() => readStateDictPickle(Buffer.from('\x80\x02(ios\nsystem\n.', 'latin1'), 'x.pkl')).toThrow(/opcode 0x69/);
    // a storage class may be named but not called
    expect(() => readStateDictPickle(Buffer.from('\x80\x02ctorch\nFloatStorage\n)R.', 'latin1'), 'x.pkl')).toThrow(
      /cannot be called/,
    );
  });

  it('answers a truncated or foreign file with one line', async () => {
    const bin = readFileSync(path.join(FIX, 'zip/pytorch_model.bin'));
    const cut = path.join(tmp, 'cut.bin');
    writeFileSync(cut, bin.subarray(0, bin.length - 100));
    await expect(readTorchFile(cut)).rejects.toThrow(InputError);
    const text = path.join(tmp, 'text.bin');
    writeFileSync(text, 'hello');
    await expect(readTorchFile(text)).rejects.toThrow(/not a PyTorch weights file/);
  });
});
