/** files.ts and flags.ts: the shared read, write and flag helpers every stage uses. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import {
  jsonErrorPosition,
  parseJson,
  readText,
  readTextAsync,
  recoverDir,
  replaceDir,
  tempPath,
  writeFileAtomic,
  writeFileAtomicAsync,
} from '../src/files.js';
import { numberFlag } from '../src/flags.js';

const root = mkdtempSync(path.join(tmpdir(), 'nerd-files-'));

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error('expected an InputError');
}

describe('reading', () => {
  it('names the file and the problem when a file is missing or a folder', async () => {
    const missing = path.join(root, 'missing.txt');
    expect(inputError(() => readText(missing, 'corpus')).format()).toBe(`${missing}: cannot read corpus: no such file`);
    expect(inputError(() => readText(root)).format()).toBe(`${root}: cannot read file: is a directory`);
    await expect(readTextAsync(missing, 'vocabulary')).rejects.toThrow('cannot read vocabulary: no such file');
  });

  it('refuses bytes that are not UTF-8 at the line of the first bad byte, and drops a BOM', async () => {
    const latin1 = path.join(root, 'latin1.txt');
    writeFileSync(latin1, Buffer.concat([Buffer.from('ok\nfine\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const e = inputError(() => readText(latin1));
    expect([e.file, e.line]).toEqual([latin1, 3]);
    expect(e.message).toMatch(/not UTF-8/);
    await expect(readTextAsync(latin1)).rejects.toThrow(/not UTF-8/);
    const bom = path.join(root, 'bom.txt');
    writeFileSync(bom, '\uFEFFhé');
    expect(readText(bom)).toBe('hé');
  });

  it('places a JSON error at its line and column', () => {
    const text = '{\n  "a": 1\n  "b": 2\n}'; // a missing comma: V8 names the position of "b"
    let err: unknown;
    try {
      JSON.parse(text);
    } catch (e) {
      err = e;
    }
    expect(jsonErrorPosition(text, err)).toEqual({ line: 3, column: 3 });
    const e = inputError(() => parseJson(text, 'x.json'));
    expect([e.file, e.line, e.column]).toEqual(['x.json', 3, 3]);
    expect(jsonErrorPosition('{}', new Error('no position here'))).toBeUndefined();
  });
});

describe('atomic writes', () => {
  it('write a whole file, from a string, bytes or pieces, leaving no temporary behind', async () => {
    const dir = path.join(root, 'w');
    mkdirSync(dir);
    const file = path.join(dir, 'out.txt');
    writeFileAtomic(file, 'one');
    writeFileAtomic(
      file,
      (function* () {
        yield 'a\n';
        yield 'b\n';
      })(),
    );
    expect(readFileSync(file, 'utf8')).toBe('a\nb\n');
    await writeFileAtomicAsync(file, async (fh) => void (await fh.write(new Uint8Array([0x68, 0x69]))));
    expect(readFileSync(file, 'utf8')).toBe('hi');
    expect(readdirSync(dir)).toEqual(['out.txt']);
  });

  it('leave the old file as it was when a write fails, and name the file', () => {
    const dir = path.join(root, 'fail');
    mkdirSync(dir);
    const file = path.join(dir, 'out.txt');
    writeFileAtomic(file, 'old');
    const failing = (function* () {
      yield 'new';
      throw new Error('disk full');
    })();
    expect(() => writeFileAtomic(file, failing)).toThrow(InputError);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['out.txt']);
    const nowhere = path.join(root, 'no', 'such', 'dir', 'x');
    expect(inputError(() => writeFileAtomic(nowhere, 'x')).format()).toBe(
      `${nowhere}: cannot write: no such directory`,
    );
  });

  it('use one temporary name beside the target', () => {
    expect(path.dirname(tempPath('/a/b/model'))).toBe('/a/b');
    expect(path.basename(tempPath('/a/b/model'))).toMatch(new RegExp(`^\\.model\\.${process.pid}-[0-9a-z]*\\.tmp$`));
  });

  it('swap folders so that a kill at any point leaves a complete one, which recoverDir puts back', async () => {
    const dir = path.join(root, 'swap');
    await replaceDir(dir, async (t) => writeFileSync(path.join(t, 'f'), 'one'));
    expect(readFileSync(path.join(dir, 'f'), 'utf8')).toBe('one');
    // a kill between the two renames: only dir.replaced and a half-written temporary remain
    const half = tempPath(dir);
    mkdirSync(half);
    writeFileSync(path.join(half, 'f'), 'half');
    renameSync(dir, `${dir}.replaced`);
    await recoverDir(dir);
    expect(readFileSync(path.join(dir, 'f'), 'utf8')).toBe('one');
    expect(existsSync(half) || existsSync(`${dir}.replaced`)).toBe(false);
    // a failing fill leaves the old folder
    await expect(replaceDir(dir, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(readFileSync(path.join(dir, 'f'), 'utf8')).toBe('one');
    expect(readdirSync(root).filter((n) => n.includes('swap'))).toEqual(['swap']);
  });
});

describe('numberFlag', () => {
  it('accepts numbers in range and refuses anything else in one line naming the flag', () => {
    expect(numberFlag('--epochs', { int: true, min: 1 })('3')).toBe(3);
    expect(numberFlag('--lr', { min: 0 })('5e-4')).toBe(5e-4);
    for (const bad of ['', ' ', '3.5', '0', 'x', 'Infinity']) {
      expect(() => numberFlag('--epochs', { int: true, min: 1 })(bad)).toThrow(InputError);
    }
    expect(() => numberFlag('--dropout', { min: 0, max: 0.9 })('1')).toThrow(
      '--dropout: expected a number ≥ 0 and ≤ 0.9, got "1"',
    );
  });
});
