/**
 * The hand-written WordPiece tokenizer (src/student/tokenizer.ts) against Hugging Face's Rust `tokenizers`
 * (npm, N-API) running the same tokenizer.json: exactness on the 13,131 sentences per vocabulary of
 * test/student/tokenizer.test.ts, and speed as a ratio measured in the same run (same machine load).
 *
 *   npx tsx bench/tokenizer.ts [--rounds 3]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { Tokenizer } from '../src/student/tokenizer.js';
import { toUtf16Offsets } from '../src/student/tokenizer-hf.js';
import { SHARED_DATA } from '../src/package-info.js';

const DATA = SHARED_DATA;

function conllSentences(file: string): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') {
      if (cur.length) out.push(cur);
      cur = [];
    } else cur.push(line.split(/\s/)[0]!);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** the corpus of tokenizer.test.ts: CoNLL dev (all), test (all), train (1 in 8), WNUT (dev/test all, train 1 in 2), NCBI train (1 in 8) */
function corpus(): string[][] {
  const files: Array<[string, number]> = [
    ['conll2003/dev.txt', 1],
    ['conll2003/train.txt', 8],
    ['conll2003/test.txt', 1],
    ['wnut17/wnut17train.conll', 2],
    ['wnut17/emerging.dev.conll', 1],
    ['wnut17/emerging.test.annotated', 1],
    ['ncbi_disease/train.tsv', 8],
  ];
  return files.flatMap(([f, step]) => conllSentences(path.join(DATA, f)).filter((_, k) => k % step === 0));
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;
  const sentences = corpus();
  const texts = sentences.map((w) => w.join(' '));
  console.log(`corpus: ${texts.length} sentences, ${sentences.reduce((a, s) => a + s.length, 0)} words`);
  for (const [name, vocab, lowercase] of [
    ['cased', 'vocab/bert-base-cased-vocab.txt', false],
    ['uncased', 'vocab/bert-base-uncased-vocab.txt', true],
  ] as const) {
    const ours = await Tokenizer.fromVocabFile(path.join(DATA, vocab), { lowercase });
    const rust = RustTokenizer.fromString(JSON.stringify(ours.toTokenizerJson()));
    // exactness: ids and offsets of whole sentences, and ids of pre-split words (what training uses)
    let idDiff = 0;
    let offDiff = 0;
    let wordDiff = 0;
    const batch = 512;
    for (let i = 0; i < texts.length; i += batch) {
      const part = texts.slice(i, i + batch);
      const encs = await rust.encodeBatch(part);
      // pre-split words one by one (this binding's isPretokenized input fails to convert arrays)
      const words = sentences.slice(i, i + batch);
      const flat = await rust.encodeBatch(words.flat(), { addSpecialTokens: false });
      let w0 = 0;
      part.forEach((t, k) => {
        const a = ours.encode(t);
        const b = encs[k]!;
        if (JSON.stringify(a.ids) !== JSON.stringify(b.getIds())) idDiff++;
        else if (JSON.stringify(a.offsets) !== JSON.stringify(toUtf16Offsets(t, b.getOffsets()))) offDiff++;
        const ws = words[k]!;
        const mine = ws.map((w) => ours.encodeWord(w).ids);
        const theirs = ws.map((_, w) => flat[w0 + w]!.getIds());
        w0 += ws.length;
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) wordDiff++;
      });
    }
    console.log(
      `${name}: sentences whose ids differ ${idDiff}, offsets differ ${offDiff} (after code points → UTF-16), pre-split word ids differ ${wordDiff} (of ${texts.length})`,
    );

    // speed: whole sentences, fresh tokenizers (no word cache carried over), best of `rounds`
    let bestOurs = Infinity;
    let bestRust = Infinity;
    let bestRustOne = Infinity;
    for (let r = 0; r < rounds; r++) {
      const fresh = await Tokenizer.fromVocabFile(path.join(DATA, vocab), { lowercase });
      let t = performance.now();
      for (const s of texts) fresh.tokenize(s);
      bestOurs = Math.min(bestOurs, performance.now() - t);
      t = performance.now();
      for (let i = 0; i < texts.length; i += batch) await rust.encodeBatch(texts.slice(i, i + batch));
      bestRust = Math.min(bestRust, performance.now() - t);
      t = performance.now();
      for (const s of texts.slice(0, 2000)) await rust.encode(s);
      bestRustOne = Math.min(bestRustOne, ((performance.now() - t) * texts.length) / 2000);
    }
    const per = (ms: number) => `${((ms * 1000) / texts.length).toFixed(1)} µs/sentence`;
    console.log(
      `${name}: hand-written ${per(bestOurs)}; tokenizers encodeBatch ${per(bestRust)} (${(bestOurs / bestRust).toFixed(2)}× the hand-written speed), ` +
        `one await per sentence ${per(bestRustOne)} (${(bestOurs / bestRustOne).toFixed(2)}×)`,
    );
  }
}

await main();
