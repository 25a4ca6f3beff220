import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/errors.js';
import { describe, expect, it } from 'vitest';
import { canonicalJson, requestKey, ResponseCache } from '../../src/teacher/cache.js';
import { costOf, loadPrices, priceFor } from '../../src/teacher/pricing.js';

const parts = {
  provider: 'openai',
  model: 'm',
  messages: [{ role: 'user', content: 'x' }],
  temperature: 0,
  maxTokens: 100,
  seed: 0,
  sample: 0,
  attempt: 0,
};

describe('response cache', () => {
  it('keys by model, messages, sampling parameters, sample and attempt, independent of key order', () => {
    const k = requestKey(parts);
    expect(requestKey({ ...parts })).toBe(k);
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    for (const change of [
      { model: 'n' },
      { temperature: 0.7 },
      { maxTokens: 200 },
      { seed: 1 },
      { sample: 1 },
      { attempt: 1 },
      { messages: [] },
      { provider: 'llama-cpp' },
    ]) {
      expect(requestKey({ ...parts, ...change })).not.toBe(k);
    }
  });

  it('persists responses in a WAL SQLite file across reopenings', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nerd-cache-')), 'c.sqlite');
    const c = new ResponseCache(file);
    const r = {
      text: 'hi',
      finishReason: 'stop' as const,
      usage: { promptTokens: 3, completionTokens: 4 },
      model: 'm',
    };
    c.put('k1', r);
    c.close();
    const d = new ResponseCache(file);
    expect(d.get('k1')).toEqual(r);
    expect(d.get('k2')).toBeUndefined();
    expect(d.size()).toBe(1);
    d.close();
  });
});

describe('pricing', () => {
  it('prices exact ids and dated snapshots, never by prefix; strips provider prefixes and unlisted dates', () => {
    expect(priceFor('gpt-4o-mini-2024-07-18')).toMatchObject({ known: true, matched: 'gpt-4o-mini-2024-07-18' });
    expect(priceFor('gpt-4o-2024-08-06').price).toEqual({ input: 2.5, output: 10 });
    // the first GPT-4o snapshot cost twice as much; GPT-4 Turbo previews are not GPT-4
    expect(priceFor('gpt-4o-2024-05-13').price).toEqual({ input: 5, output: 15 });
    expect(priceFor('gpt-4-0125-preview').price).toEqual({ input: 10, output: 30 });
    expect(priceFor('gpt-4').price).toEqual({ input: 30, output: 60 });
    for (const m of [
      'o1',
      'o3',
      'o3-pro',
      'o4-mini',
      'gpt-5',
      'gpt-5-mini',
      'gpt-5-nano',
      'gpt-4.1',
      'gpt-4.1-mini',
      'gemini-2.5-flash',
      'gemini-2.5-pro',
    ]) {
      expect(priceFor(m), m).toMatchObject({ known: true, matched: m });
    }
    expect(priceFor('o3-pro').price).not.toEqual(priceFor('o3').price);
    expect(priceFor('openai/gpt-4o')).toMatchObject({ known: true, matched: 'gpt-4o' });
    expect(priceFor('models/gemini-2.5-flash')).toMatchObject({ known: true, matched: 'gemini-2.5-flash' });
    expect(priceFor('gpt-4.1-2099-01-01')).toMatchObject({ known: true, matched: 'gpt-4.1' });
    // no prefix matching: an unknown name is unknown, not the nearest shorter name
    expect(priceFor('gpt-4o-audio-preview').known).toBe(false);
    expect(priceFor('my-azure-deployment').known).toBe(false);
    expect(priceFor('llama-3-8b')).toEqual({ price: { input: 0, output: 0 }, known: false });
    expect(priceFor('SIMULATED-teacher(x)')).toMatchObject({ known: true, price: { input: 0, output: 0 } });
    expect(priceFor('gpt-4o', { 'gpt-4o': { input: 1, output: 1 } }).price).toEqual({ input: 1, output: 1 });
    expect(costOf({ promptTokens: 1_000_000, completionTokens: 500_000 }, { input: 2.5, output: 10 })).toBeCloseTo(7.5);
  });

  it('loads a price file and names the file on a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nerd-prices-'));
    writeFileSync(join(dir, 'p.yaml'), 'my-model: {input: 1.5, output: 2}\n');
    expect(loadPrices(join(dir, 'p.yaml'))).toEqual({ 'my-model': { input: 1.5, output: 2 } });
    writeFileSync(join(dir, 'bad.yaml'), 'my-model: {input: cheap}\n');
    expect(() => loadPrices(join(dir, 'bad.yaml'))).toThrow(InputError);
    try {
      loadPrices(join(dir, 'bad.yaml'));
    } catch (e) {
      expect((e as InputError).format()).toMatch(/bad\.yaml: .*my-model\.input/);
    }
  });
});
