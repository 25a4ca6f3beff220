import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, STAGES } from '../src/cli.js';

describe('nerd cli', () => {
  it('lists every stage command in --help', async () => {
    const program = await buildProgram(['node', 'nerd', '--help']);
    expect(program.name()).toBe('nerd');
    const names = program.commands.map((c) => c.name()).sort();
    expect(names).toEqual(Object.values(STAGES).flatMap((s) => s.commands).sort());
  });

  it("names exactly the commands each stage registers (the lazy-loading table is true)", async () => {
    for (const [stage, { commands, load }] of Object.entries(STAGES)) {
      const program = new Command();
      (await load()).register(program);
      expect(program.commands.map((c) => c.name()).sort(), stage).toEqual([...commands].sort());
    }
  });

  it('loads only the stage a subcommand needs', async () => {
    const program = await buildProgram(['node', 'nerd', 'stats', 'x.txt']);
    expect(program.commands.map((c) => c.name()).sort()).toEqual(['convert', 'stats']);
  });
});
