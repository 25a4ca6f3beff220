/**
 * The span conventions (src/teacher/spans.ts), each on real CoNLL-2003 sentences, and all of them together
 * over every entity of CoNLL-2003 dev answered loosely (a leading "the", a trailing full stop, quotes).
 */
import { describe, expect, it } from 'vitest';
import { applyConventions, bareName, conventionsFromLabelled, findText } from '../../src/teacher/spans.js';
import { readCorpus } from '../../src/corpus/index.js';
import { DATA } from './helpers.js';
import { join } from 'node:path';
import { groundEntities } from '../../src/teacher/ground.js';
import { answerEntities } from '../../src/teacher/prompt.js';
import { devSentences } from './helpers.js';

const TYPES = ['PER', 'ORG', 'LOC', 'MISC'];
const toks = (s: string) => s.split(' ');
const spansOf = (tokens: string[], text: string, alignment: 'strict' | 'contract' | 'expand' = 'expand') =>
  findText(tokens, text, { alignment })?.spans;

describe('span conventions on CoNLL-2003 sentences', () => {
  it('1. drops a leading article, keeps a Title-case one inside the sentence and a headline ALL-CAPS one', () => {
    // train: "... it should be taken by the European Union ." — gold ORG "European Union"
    const eu = toks(
      'He said further scientific study was required and if it was found that action was needed it should be taken by the European Union .',
    );
    expect(spansOf(eu, 'the European Union')).toEqual([[22, 24]]);
    // train: "... against Pakistan at The Oval on Thursday ." — gold LOC "The Oval"
    const oval = toks(
      'England were 100 for two at lunch on the first day of the third and final test against Pakistan at The Oval on Thursday .',
    );
    expect(spansOf(oval, 'The Oval')).toEqual([[20, 22]]);
    expect(spansOf(oval, 'the Oval')).toEqual([[20, 22]]); // the sentence's token decides, not the answer's case
    // sentence-initial "The" is the sentence's, not the name's (299 of 306 in train)
    expect(
      spansOf(
        toks('The European Commission said on Thursday it disagreed with German advice .'),
        'The European Commission',
      ),
    ).toEqual([[1, 3]]);
    // dev: the dateline "THE HAGUE 1996-08-30" — gold LOC "THE HAGUE"
    expect(spansOf(toks('THE HAGUE 1996-08-30'), 'THE HAGUE')).toEqual([[0, 2]]);
    // train: "THE U.S. OPEN" after a word: ALL CAPS inside a headline is trimmed
    expect(spansOf(toks('GOLF - THE U.S. OPEN'), 'THE U.S. OPEN')).toEqual([[3, 5]]);
    // an answer with an article labels the name wherever it occurs
    expect(spansOf(toks('the U.S. said U.S. troops'), 'the U.S.')).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('2. drops edge punctuation and quotes, keeps a closing bracket that a name opened', () => {
    // train: '... to Israel .' — "Israel." is LOC Israel, both mentions
    const israel = toks('Israel \'s Channel Two television said Damascus had sent a " calming signal " to Israel .');
    expect(spansOf(israel, 'Israel.')).toEqual([
      [0, 1],
      [15, 16],
    ]);
    expect(spansOf(toks('" Reuters " , he said'), '"Reuters",')).toEqual([[1, 2]]);
    expect(spansOf(toks('He said , quoting Reuters .'), 'Reuters.')).toEqual([[4, 5]]);
    // train: "Mladost ( L ) 0 Zemun 0" — gold ORG "Mladost ( L )"
    const mladost = toks('Mladost ( L ) 0 Zemun 0');
    expect(spansOf(mladost, 'Mladost ( L )')).toEqual([[0, 4]]);
    expect(spansOf(mladost, 'Mladost (L).')).toEqual([[0, 4]]);
    expect(spansOf(mladost, 'Mladost L')).toEqual([[0, 4]]); // found by letters, the bracket closed
    // a verbatim copy keeps its punctuation: dev "Salomon Bros ." is ORG with the full stop
    const salomon = toks("said Shulman , Salomon Bros . '");
    expect(spansOf(salomon, 'Salomon Bros .')).toEqual([[3, 6]]);
    expect(spansOf(salomon, 'Salomon Bros.')).toEqual([[3, 5]]);
  });

  it('3. drops a glued possessive clitic, keeps one written as a word', () => {
    // train: "BA1 by Moody 's Investors Service" / "Baa1 - Moody 's ." — gold ORG "Moody 's"
    const moody = toks("Fairview , Texas , $ 1.82 million deal Baa1 - Moody 's .");
    expect(spansOf(moody, "Moody 's")).toEqual([[10, 12]]);
    expect(spansOf(moody, "Moody's")).toEqual([[10, 11]]);
    expect(spansOf(toks("Israel 's Channel Two"), "Israel's")).toEqual([[0, 1]]);
    expect(bareName('"the Reuters\'s",')).toBe('Reuters');
  });

  it('4. answers inside a token: strict / contract / expand, never mid-word', () => {
    // train: "Defiant U.S. neo-Nazi jailed by German court ." — gold MISC "neo-Nazi" (the whole token)
    const nazi = toks('Defiant U.S. neo-Nazi jailed by German court .');
    expect(spansOf(nazi, 'Nazi', 'expand')).toEqual([[2, 3]]);
    expect(spansOf(nazi, 'Nazi', 'contract')).toBeUndefined();
    expect(spansOf(nazi, 'Nazi', 'strict')).toBeUndefined();
    const ex = toks('the ex-England captain Graham Gooch');
    expect(spansOf(ex, 'England')).toEqual([[1, 2]]);
    const twoTokens = toks('the ex-England Test captain');
    expect(spansOf(twoTokens, 'England Test', 'contract')).toEqual([[2, 3]]);
    expect(spansOf(twoTokens, 'England Test', 'expand')).toEqual([[1, 3]]);
    // never in the middle of a word, and a whole-token match wins over one inside a token
    expect(spansOf(toks('NewYork and thus'), 'York')).toBeUndefined();
    expect(spansOf(toks('NewYork and thus'), 'us')).toBeUndefined();
    // train: "... recomposed KSE-100 index" with KSE (ORG) elsewhere: KSE is not also found in KSE-100
    const kse = toks(
      'The Karachi Stock Exchange ( KSE ) said on Monday it would introduce a new recomposed KSE-100 index',
    );
    expect(spansOf(kse, 'KSE')).toEqual([[5, 6]]);
  });

  it('4. takes the alignment default from the labelled data: CoNLL-2003 expands, WNUT-17 train is strict', () => {
    const conll = conventionsFromLabelled(devSentences());
    expect(conll.alignment).toBe('expand');
    expect(conll.evidence.covered * 2).toBeGreaterThan(conll.evidence.tokens);
    const wnut = conventionsFromLabelled(readCorpus(join(DATA, 'wnut17/wnut17train.conll')).corpus.sentences);
    expect(wnut.alignment).toBe('strict'); // "@user" and "#tag" tokens are mostly not entities there
    expect(conventionsFromLabelled([{ tokens: ['ex-England'], spans: [] }]).alignment).toBe('expand'); // too few to tell
    // grounding honours it
    const nazi = toks('Defiant U.S. neo-Nazi jailed by German court .');
    expect(
      groundEntities(nazi, [{ text: 'Nazi', type: 'MISC' }], TYPES, { alignment: 'strict' }).rejected[0]?.reason,
    ).toBe('not-found');
    expect(groundEntities(nazi, [{ text: 'Nazi', type: 'MISC' }], TYPES).spans).toEqual([
      { start: 2, end: 3, label: 'MISC', text: 'neo-Nazi' },
    ]);
  });

  it('applyConventions leaves nothing of an answer that was only an article or punctuation', () => {
    expect(applyConventions(toks('" , the'), 0, 3, '", the')).toBeUndefined();
    expect(groundEntities(toks('the . said'), [{ text: '.', type: 'ORG' }], TYPES).rejected[0]?.reason).toBe('invalid');
  });
});

describe('loose answers over all of CoNLL-2003 dev', () => {
  const variants: Record<string, (t: string) => string> = {
    verbatim: (t) => t,
    'leading "the"': (t) => `the ${t}`,
    'trailing full stop': (t) => `${t}.`,
    'quotes and comma': (t) => `"${t}",`,
  };
  const sentences = devSentences().filter((s) => s.spans.length > 0);
  const total = sentences.reduce((n, s) => n + s.spans.length, 0);
  const errors = (v: (t: string) => string): number => {
    let bad = 0;
    for (const s of sentences) {
      const answer = answerEntities(s).map((e) => ({ ...e, text: v(e.text) }));
      const got = new Set(groundEntities(s.tokens, answer, TYPES).spans.map((x) => `${x.start}:${x.end}:${x.label}`));
      const gold = new Set(s.spans.map((x) => `${x.start}:${x.end}:${x.label}`));
      for (const k of gold) if (!got.has(k)) bad++;
      for (const k of got) if (!gold.has(k)) bad++;
    }
    return bad;
  };
  for (const [name, v] of Object.entries(variants)) {
    it(`${name}: boundary errors stay within the conventions' known exceptions`, () => {
      const bad = errors(v);
      process.stderr.write(
        `CoNLL-2003 dev, answers ${name}: ${bad} boundary errors (missed + spurious) over ${total} gold entities\n`,
      );
      // measured: 16 verbatim (8 gold names that begin a sentence with "The"/"A"), 20 / 22 / 22 loose
      // (the line-by-line grounding before spans.ts: 0 / 1,010 / 671 / 62)
      expect(bad).toBeLessThanOrEqual(24);
    });
  }
});
