#!/usr/bin/env node
/**
 * The one `nerd` command. Each stage registers its own subcommands (thin calls into that stage), so this
 * file only wires them together and turns errors into one-line messages and exit codes.
 *
 * Stages are imported lazily: `nerd stats` need not load onnxruntime, fastify or the OpenAI SDK. The table
 * below names each stage's subcommands (a test checks it against what the stages register); with no known
 * subcommand (`nerd --help`, a typo) every stage is loaded so help and errors list them all.
 */
import { Command, CommanderError } from 'commander';
import { InputError } from './errors.js';
import { VERSION } from './package-info.js';

type Register = (program: Command) => void;

export const STAGES: Record<string, { commands: string[]; load: () => Promise<{ register: Register }> }> = {
  corpus: { commands: ['convert', 'stats'], load: () => import('./corpus/commands.js') },
  score: { commands: ['eval'], load: () => import('./score/commands.js') },
  teacher: { commands: ['annotate', 'teacher-sim'], load: () => import('./teacher/commands.js') },
  student: {
    commands: ['train', 'pretrain', 'predict', 'forward', 'tokenizer', 'export'],
    load: () => import('./student/commands.js'),
  },
  distill: { commands: ['distill', 'experiment', 'demo'], load: () => import('./distill/commands.js') },
  serve: { commands: ['serve', 'review'], load: () => import('./serve/commands.js') },
};

/** The program with the stages that `argv` needs (all of them when no known subcommand is named). */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name('nerd')
    .description("Distil an LLM's named-entity knowledge into a small BERT model that runs offline.")
    .version(VERSION)
    .showHelpAfterError();
  const sub = argv.slice(2).find((a) => !a.startsWith('-'));
  const needed = Object.values(STAGES).filter((s) => sub !== undefined && s.commands.includes(sub));
  for (const stage of needed.length ? needed : Object.values(STAGES)) (await stage.load()).register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit "successfully"; usage errors were already printed by commander
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof InputError) {
      process.stderr.write(`nerd: ${err.format()}\n`);
      return 2;
    }
    process.stderr.write(`nerd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

// Run when executed directly (not when imported by tests).
const invokedAs = process.argv[1] ?? '';
if (/(^|[\\/])(cli\.(js|ts)|nerd)$/.test(invokedAs)) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
