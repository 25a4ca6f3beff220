import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { DistillConfig, ExperimentConfig, Strategy, loadConfigFile } from './config.js';
import { configHash, runExperiment } from './experiment.js';
import { formatBudget } from './report.js';
import { runDistill } from './run.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** configs/ shipped with the package (the demo's default lives there) */
const CONFIG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../configs');

interface TeacherFlags {
  baseUrl?: string;
  teacherModel?: string;
  gguf?: string;
}

/** --base-url/--model/--gguf (or OPENAI_API_KEY / NERD_API_KEY in the environment) switch from the simulator to a real LLM. */
function applyTeacherFlags(base: DistillConfig, flags: TeacherFlags): DistillConfig {
  const t = { ...base.teacher };
  if (flags.gguf) Object.assign(t, { provider: 'gguf', gguf: flags.gguf });
  else if (
    flags.baseUrl ||
    flags.teacherModel ||
    ((process.env.OPENAI_API_KEY || process.env.NERD_API_KEY) && t.provider === 'sim')
  ) {
    Object.assign(t, {
      provider: 'openai',
      baseUrl: flags.baseUrl ?? t.baseUrl,
      model: flags.teacherModel ?? t.model ?? 'gpt-4o',
    });
  }
  return { ...base, teacher: t };
}

function teacherOptions(cmd: Command): Command {
  return cmd
    .option(
      '--base-url <url>',
      'use a real OpenAI-compatible LLM as the teacher (key from OPENAI_API_KEY or NERD_API_KEY)',
    )
    .option('--teacher-model <name>', 'the LLM model name (with --base-url or an API key; default gpt-4o)')
    .option('--gguf <file>', 'use a local GGUF model through node-llama-cpp as the teacher');
}

export function register(program: Command): void {
  teacherOptions(
    program
      .command('distill')
      .description('annotate with the teacher, train the student in two phases, evaluate on the test set')
      .requiredOption('--config <file>', 'run config (YAML or JSON; see configs/)')
      .option('--strategy <name>', `override the strategy (${Strategy.options.join(', ')})`)
      .option('--budget <x>', 'override the human-label budget (fraction ≤ 1, or a sentence count)')
      .option('--seed <n>', 'override the seed')
      .option('--out <dir>', 'override the output folder'),
  ).action(
    async (
      flags: TeacherFlags & { config: string; strategy?: string; budget?: string; seed?: string; out?: string },
    ) => {
      let config = applyTeacherFlags(loadConfigFile(flags.config, DistillConfig), flags);
      const over = DistillConfig.safeParse({
        ...config,
        ...(flags.strategy ? { strategy: flags.strategy } : {}),
        ...(flags.budget ? { budget: Number(flags.budget) } : {}),
        ...(flags.seed ? { seed: Number(flags.seed) } : {}),
        ...(flags.out ? { out: flags.out } : {}),
      });
      if (!over.success)
        throw new InputError(`bad option: ${over.error.issues[0]!.path.join('.')}: ${over.error.issues[0]!.message}`);
      config = over.data;
      const r = await runDistill(config, { log });
      const pct = (x: number) => (100 * x).toFixed(2);
      process.stdout.write(
        [
          `strategy ${r.strategy}, human budget ${formatBudget(r.budget)} (${r.humanSentences} sentences), teacher sentences ${r.teacherSentences}`,
          ...(r.teacher
            ? [`teacher F1 ${pct(r.teacher.f1)} (P ${pct(r.teacher.precision)}, R ${pct(r.teacher.recall)})`]
            : []),
          `student test: P ${pct(r.test.precision)}  R ${pct(r.test.recall)}  F1 ${pct(r.test.f1)}`,
          ...Object.entries(r.test.types).map(([t, s]) => `  ${t.padEnd(6)} F1 ${pct(s.f1)}`),
          `checkpoint: ${r.checkpoint}`,
          `report: ${path.join(config.out, 'report.json')}  (config ${configHash(config)}, ${r.seconds.toFixed(0)} s)`,
        ].join('\n') + '\n',
      );
    },
  );

  teacherOptions(
    program
      .command('experiment')
      .description(
        'a grid over human budgets × strategies × seeds (× teacher sentences × teacher/human selection); resumes; writes results.jsonl and report.html',
      )
      .requiredOption('--config <file>', 'experiment config (YAML or JSON; see configs/conll2003-paper.yaml)'),
  ).action(async (flags: TeacherFlags & { config: string }) => {
    const exp = loadConfigFile(flags.config, ExperimentConfig);
    await experimentAndPrint({ ...exp, base: applyTeacherFlags(exp.base, flags) });
  });

  teacherOptions(
    program
      .command('demo')
      .description(
        'the whole pipeline offline on CoNLL-2003 with the simulated teacher: human labels alone vs distillation',
      )
      .option('--config <file>', 'experiment config', path.join(CONFIG_DIR, 'demo.yaml'))
      .option('--out <dir>', "output folder (default: the config's)"),
  ).action(async (flags: TeacherFlags & { config: string; out?: string }) => {
    if (!existsSync(flags.config)) throw new InputError('demo config not found', flags.config);
    const exp = loadConfigFile(flags.config, ExperimentConfig);
    const base = applyTeacherFlags(exp.base, flags);
    const out = flags.out ?? exp.out;
    const cache = flags.out ? path.join(out, 'teacher-cache.sqlite') : base.teacher.cache;
    await experimentAndPrint({ ...exp, out, base: { ...base, teacher: { ...base.teacher, cache } } });
  });
}

async function experimentAndPrint(exp: ExperimentConfig): Promise<void> {
  if (exp.base.teacher.provider === 'sim')
    log(
      'nerd: the teacher in this run is nerd teacher-sim, a SIMULATED LLM answering from the gold labels with noise (pass --base-url/--model or set OPENAI_API_KEY for a real one).',
    );
  const outcome = await runExperiment(exp, (config, { phaseDir }) => runDistill(config, { log, phaseDir }), log);
  process.stdout.write(`\nTest F1 (%), mean ± sd over seeds ${exp.seeds.join(', ')}:\n${outcome.table}\n\n`);
  process.stdout.write(
    `${outcome.ran} run(s) done now, ${outcome.skipped} reused from ${outcome.resultsFile}\nreport: ${outcome.reportFile}\n`,
  );
}
