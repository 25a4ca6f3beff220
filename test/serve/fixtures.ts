/**
 * Test data for serve/review built from the real CoNLL-2003 dev set in ../shared/data: the first N
 * sentences with their gold entities, turned into teacher-style JSONL with varying vote confidences,
 * a shifted boundary here and there, and some rejected entities, all deterministic.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DATA as DATA_DIR } from '../helpers/data.js';

export { DATA_DIR };
export const VOCAB_CASED = path.join(DATA_DIR, 'vocab', 'bert-base-cased-vocab.txt');

export interface GoldSentence {
  tokens: string[];
  spans: Array<{ start: number; end: number; label: string }>;
}

/** first `n` sentences of CoNLL-2003 dev (IOB2) that have at least `minTokens` tokens */
export function conllDev(n: number, minTokens = 4): GoldSentence[] {
  const text = readFileSync(path.join(DATA_DIR, 'conll2003', 'dev.txt'), 'utf8');
  const out: GoldSentence[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const rows = block.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('-DOCSTART-'));
    if (rows.length < minTokens) continue;
    const tokens: string[] = [];
    const spans: GoldSentence['spans'] = [];
    rows.forEach((row, i) => {
      const cols = row.split(' ');
      tokens.push(cols[0]!);
      const tag = cols[cols.length - 1]!;
      if (tag.startsWith('B-')) spans.push({ start: i, end: i + 1, label: tag.slice(2) });
      else if (tag.startsWith('I-')) spans[spans.length - 1]!.end = i + 1;
    });
    out.push({ tokens, spans });
    if (out.length >= n) break;
  }
  return out;
}

/** teacher-style JSONL lines for the sentences (deterministic doubt signals) */
export function teacherLines(sentences: GoldSentence[]): string[] {
  return sentences.map((s, i) => {
    const confs = [1, 1, 0.67, 1, 0.33];
    const entities = s.spans.map((sp, k) => ({
      ...sp,
      text: s.tokens.slice(sp.start, sp.end).join(' '),
      confidence: confs[(i + k) % confs.length],
    }));
    const rejected = i % 4 === 1 ? [{ text: 'Atlantis', type: 'LOC', reason: 'not-found' }] : [];
    return JSON.stringify({
      id: `dev-${i}`,
      tokens: s.tokens,
      entities,
      rejected,
      teacher: { model: 'fixture', samples: 3 },
    });
  });
}

export function tempDir(prefix = 'nerd-serve-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** writes teacher JSONL for the first `n` dev sentences into `dir` and returns its path */
export function writeTeacherData(dir: string, n: number): string {
  const file = path.join(dir, 'teacher.jsonl');
  writeFileSync(file, teacherLines(conllDev(n)).join('\n') + '\n');
  return file;
}

/** The URL a running `nerd review` prints ("open http://..."); rejects with its output if it exits first. */
export function reviewUrl(child: ChildProcess): Promise<string> {
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /open (http:\/\/\S+?)\/? /.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`nerd review exited ${code}: ${out}${err}`)));
  });
}
