#!/usr/bin/env node
/**
 * The one `nerd` command. Each stage registers its own subcommands (thin calls into that stage), so this
 * file only wires them together and turns errors into one-line messages and exit codes.
 */
import { Command, CommanderError } from 'commander';
import { InputError } from './errors.js';
import { register as registerCorpus } from './corpus/commands.js';
import { register as registerScore } from './score/commands.js';
import { register as registerStudent } from './student/commands.js';
import { register as registerTeacher } from './teacher/commands.js';
import { register as registerDistill } from './distill/commands.js';
import { register as registerServe } from './serve/commands.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('nerd')
    .description("Distil an LLM's named-entity knowledge into a small BERT model that runs offline.")
    .version('0.1.0')
    .showHelpAfterError();
  for (const register of [registerCorpus, registerScore, registerTeacher, registerStudent, registerDistill, registerServe]) {
    register(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
