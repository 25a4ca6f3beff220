/**
 * Review data ids: repeated ids are made unique in linear work (short suffixes), and one corpus file named
 * two ways is one set of sentences in a store.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readReviewData } from '../../src/serve/review/data.js';
import { ReviewStore } from '../../src/serve/review/store.js';
import { conllDev, tempDir } from './fixtures.js';

describe('review data ids', () => {
  it('gives 10,000 repeats of one id short unique suffixes', () => {
    const dir = tempDir('nerd-review-ids-');
    const file = path.join(dir, 'dups.jsonl');
    const n = 10_000;
    // character-offset JSONL (no "tokens"): read through the corpus readers
    const lines = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ id: 'same', text: `Ann met Bob ${i} .`, entities: [] }),
    );
    lines.push(JSON.stringify({ id: 'same#3', text: 'taken already', entities: [] }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const input = readReviewData(file);
    expect(input).toHaveLength(n + 1);
    const ids = input.map((s) => s.id);
    expect(new Set(ids).size).toBe(n + 1);
    expect(ids.slice(0, 4)).toEqual(['same', 'same#2', 'same#4', 'same#5']); // same#3 belongs to the last line
    expect(ids[n]).toBe('same#3');
    // suffixes are numbers, not a growing run of '#': every id stays short
    expect(Math.max(...ids.map((id) => id.length))).toBeLessThanOrEqual('same#10001'.length);
    const store = new ReviewStore(path.join(dir, 'r.sqlite'));
    try {
      store.loadSentences(input, file);
      expect(store.counts().total).toBe(n + 1);
    } finally {
      store.close();
    }
  }, 60_000);

  it('loads one CoNLL file named two ways (relative, with ./ and //, through a symlink) once', () => {
    const dir = tempDir('nerd-review-paths-');
    mkdirSync(path.join(dir, 'data'));
    const file = path.join(dir, 'data', 'gold.conll');
    const sents = conllDev(12);
    writeFileSync(file, sents.map((s) => s.tokens.map((t) => `${t} O`).join('\n')).join('\n\n') + '\n');
    symlinkSync(path.join(dir, 'data'), path.join(dir, 'link'));
    const spellings = [
      file,
      path.join(dir, '.', 'data', '', 'gold.conll').replace('/data/', '/data//'),
      path.join(dir, 'link', 'gold.conll'),
    ];
    const store = new ReviewStore(path.join(dir, 'r.sqlite'));
    try {
      const idsSeen = spellings.map((f) => {
        const input = readReviewData(f);
        store.loadSentences(input, f);
        return input.map((s) => s.id);
      });
      expect(idsSeen[1]).toEqual(idsSeen[0]);
      expect(idsSeen[2]).toEqual(idsSeen[0]);
      expect(store.counts().total).toBe(12);
    } finally {
      store.close();
    }
  });
});
