/**
 * `nerd teacher-sim`: registration of the CLI command. src/teacher/commands.ts (owned by the teacher
 * pipeline) calls `registerSimCommand(program)` from its `register(program)`.
 *
 *   nerd teacher-sim --gold FILE [--port 0] [--host 127.0.0.1] [--noise default|none|FILE.json]
 *                    [--seed N] [--latency-ms N] [--miss-rate P] ... (one flag per noise field)
 *                    [--api-key-required KEY] [--reject-structured-output]
 *                    [--require-max-completion-tokens] [--omit-usage]
 *                    [--profile openai|reasoning|gemini|stream-only] [--finish-reason omit|null|TEXT]
 *                    [--html-body-rate P]
 */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { flagName, NOISE_FIELDS, NO_NOISE, type NoiseModel } from './noise.js';
import { SIM_PROFILES, type SimProfile } from './profiles.js';
import { startTeacherSim, type TeacherSim } from './server.js';

function parseNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InputError(`--${flag} expects a number, got "${value}"`);
    return n;
  };
}

export function registerSimCommand(program: Command): Command {
  const cmd = program
    .command('teacher-sim')
    .description(
      'Run a SIMULATED LLM teacher: a local OpenAI-compatible server that answers from a gold corpus with a configurable noise model (see src/teacher/sim/README.md)',
    )
    .requiredOption('--gold <file>', 'gold corpus: CoNLL (IOB1/IOB2, tag in last column) or JSONL {tokens, spans}')
    .option('--port <n>', 'port (0: any free port)', parseNumber('port'), 0)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--noise <spec>', 'noise preset (default, none) or a JSON file of rates on top of the defaults', 'default')
    .option('--seed <n>', 'seed for every draw', parseNumber('seed'), 0)
    .option(
      '--api-key-required <key>',
      'require this bearer key (a wrong key gets a 401 that echoes it, to test scrubbing)',
    )
    .option('--reject-structured-output', 'answer 400 to response_format json_schema, like servers without it')
    .option('--require-max-completion-tokens', "answer 400 to max_tokens, like OpenAI's newer models")
    .option('--omit-usage', 'leave usage out of answers, like some local servers')
    .option(
      '--profile <name>',
      `endpoint behaviour: ${SIM_PROFILES.join(', ')} (see src/teacher/sim/profiles.ts)`,
      'openai',
    )
    .option(
      '--finish-reason <how>',
      "write a complete answer's finish_reason as: omit, null, or this text (e.g. eos_token, end)",
    )
    .option(
      '--html-body-rate <p>',
      'share of requests answered 200 with an HTML page sent as application/json',
      parseNumber('html-body-rate'),
    );
  for (const field of NOISE_FIELDS) {
    const flag = flagName(field);
    const unit = field.endsWith('Ms') ? 'ms' : field.endsWith('S') ? 'seconds' : 'probability 0..1';
    cmd.option(
      `--${flag} <n>`,
      `noise: ${field} (${unit}; default from --noise, "none" = ${NO_NOISE[field]})`,
      parseNumber(flag),
    );
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    if (!(SIM_PROFILES as readonly string[]).includes(String(opts.profile))) {
      throw new InputError(`--profile must be one of ${SIM_PROFILES.join(', ')}, got "${String(opts.profile)}"`);
    }
    const overrides: Partial<NoiseModel> = {};
    for (const field of NOISE_FIELDS) {
      if (typeof opts[field] === 'number') (overrides as Record<string, number>)[field] = opts[field] as number;
    }
    const sim: TeacherSim = await startTeacherSim({
      gold: String(opts.gold),
      port: opts.port as number,
      host: String(opts.host),
      noise: String(opts.noise),
      noiseOverrides: overrides,
      seed: opts.seed as number,
      apiKey: opts.apiKeyRequired as string | undefined,
      rejectStructuredOutput: Boolean(opts.rejectStructuredOutput),
      requireMaxCompletionTokens: Boolean(opts.requireMaxCompletionTokens),
      omitUsage: Boolean(opts.omitUsage),
      profile: opts.profile as SimProfile,
      ...(typeof opts.finishReason === 'string' ? { finishReason: opts.finishReason } : {}),
      ...(typeof opts.htmlBodyRate === 'number' ? { htmlBodyRate: opts.htmlBodyRate } : {}),
    });
    process.stderr.write(`  noise: ${JSON.stringify(sim.noise)}\n`);
    process.stdout.write(`${sim.url}\n`);
    // serve until interrupted
    await new Promise<void>((resolve) => {
      const stop = () => {
        void sim.close().then(resolve);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    process.stderr.write(
      `nerd teacher-sim: stopped · ${JSON.stringify({ requests: sim.stats.requests, faults: sim.stats.faults })}\n`,
    );
  });
  return cmd;
}
