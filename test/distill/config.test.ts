import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DistillConfig, ExperimentConfig, loadConfigFile } from '../../src/distill/config.js';
import { InputError } from '../../src/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nerd-config-'));
const file = (name: string, text: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('run configs', () => {
  it('fills every default from an empty file, and the shipped configs load', () => {
    const c = loadConfigFile(file('empty.yaml', ''), DistillConfig);
    expect(c.strategy).toBe('simple-mix');
    expect(c.student.model).toBe('tiny');
    const root = path.resolve(__dirname, '../..');
    for (const name of ['demo.yaml', 'conll2003-paper.yaml'])
      loadConfigFile(path.join(root, 'configs', name), ExperimentConfig);
    loadConfigFile(path.join(root, 'configs', 'distill.yaml'), DistillConfig);
  });

  it('names the file, line and field of a bad value', () => {
    const e = errorOf(() => loadConfigFile(file('bad.yaml', 'name: x\nstudent:\n  batchSize: -3\n'), DistillConfig));
    expect(e.format()).toMatch(/bad\.yaml:3: config field student\.batchSize: /);
  });

  it('refuses unknown fields (a typo must not be silently ignored)', () => {
    const e = errorOf(() =>
      loadConfigFile(file('typo.yaml', 'strategy: simple-mix\nphase1:\n  epoch: 3\n'), DistillConfig),
    );
    expect(e.format()).toMatch(/typo\.yaml:.*phase1/);
  });

  it('names an unknown strategy', () => {
    const e = errorOf(() =>
      loadConfigFile(file('s.json', '{"strategies": ["simple-mix", "magic"]}'), ExperimentConfig),
    );
    expect(e.format()).toMatch(/s\.json.*strategies\.1/);
  });

  it('reports YAML syntax errors with their line', () => {
    const e = errorOf(() => loadConfigFile(file('syntax.yaml', 'name: x\nbase: [unclosed\n'), ExperimentConfig));
    expect(e.file).toMatch(/syntax\.yaml$/);
    expect(e.line).toBeGreaterThan(0);
  });
});
