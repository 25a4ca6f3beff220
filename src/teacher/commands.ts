import type { Command } from 'commander';

/** Registers this stage's `nerd` subcommands. */
export function register(_program: Command): void {
  // filled in by this stage
}
