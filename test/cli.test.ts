import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, STAGES } from '../src/cli.js';
import { VERSION } from '../src/index.js';
import { runNerd } from './helpers/cli.js';
import { ROOT } from './helpers/data.js';

describe('nerd cli', () => {
  it('lists every stage command in --help', async () => {
    const program = await buildProgram(['node', 'nerd', '--help']);
    expect(program.name()).toBe('nerd');
    const names = program.commands.map((c) => c.name()).sort();
    expect(names).toEqual(
      Object.values(STAGES)
        .flatMap((s) => s.commands)
        .sort(),
    );
  });

  it('names exactly the commands each stage registers (the lazy-loading table is true)', async () => {
    for (const [stage, { commands, load }] of Object.entries(STAGES)) {
      const program = new Command();
      (await load()).register(program);
      expect(program.commands.map((c) => c.name()).sort(), stage).toEqual([...commands].sort());
    }
  });

  it("prints package.json's version, the one place it is written", async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runNerd(['--version']);
    expect([r.code, r.stdout]).toEqual([0, `${version}\n`]);
    expect(VERSION).toBe(version);
  });

  it('loads only the stage a subcommand needs', async () => {
    const program = await buildProgram(['node', 'nerd', 'stats', 'x.txt']);
    expect(program.commands.map((c) => c.name()).sort()).toEqual(['convert', 'stats']);
  });
});
