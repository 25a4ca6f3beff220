/**
 * nerd as a library: `import { ... } from 'nerd'` (package.json `exports` → dist/index.js, built from here).
 *
 * Each stage's full API is a namespace — `corpus`, `score`, `student` (their index.ts files) — and the calls
 * most programs need are also exported by name, including the teacher, distillation and serving stages:
 *
 *   readCorpus / writeCorpus            corpora in CoNLL, character-offset JSONL or token JSONL
 *   scoreCorpora / scoreTagSequences    conlleval-exact entity scores
 *   annotate / startTeacherSim          label sentences with an LLM (or its gold-label simulator)
 *   train / Predictor                   train the student; load a model and predict
 *   runDistill / DistillConfig          the whole teacher → student pipeline from one validated config
 *   loadPredictor / startServeServer    the HTTP prediction server
 *
 * Importing this file loads every stage (onnxruntime, fastify, the OpenAI SDK); a program that needs one
 * stage can import less by using the command line instead. The version is `VERSION` (package.json's).
 */
export * as corpus from './corpus/index.js';
export * as score from './score/index.js';
export * as student from './student/index.js';

export { InputError } from './errors.js';
export { VERSION } from './package-info.js';
export { Progress, type ProgressOptions } from './progress.js';

export { parseCorpus, readCorpus, splitWords, spansFromTags, tagsFromSpans, writeCorpus } from './corpus/index.js';
export type { Corpus, ReadOptions, ReadResult, Sentence, Span, TagScheme } from './corpus/index.js';
export { formatConllevalReport, reportToJson, scoreCorpora, scoreTagSequences } from './score/index.js';
export type { Report } from './score/index.js';

export { annotate, annotateStream, writeAnnotations } from './teacher/annotate.js';
export type { AnnotatedSentence, AnnotateOptions, AnnotateResult } from './teacher/annotate.js';
export { startTeacherSim } from './teacher/sim/server.js';
export type { TeacherSim, TeacherSimOptions } from './teacher/sim/server.js';

export { evaluate, Predictor, train } from './student/index.js';
export type { TextPrediction, TrainOptions, TrainResult, WordPrediction } from './student/index.js';

export { DistillConfig, ExperimentConfig, loadConfigFile } from './distill/config.js';
export { runDistill } from './distill/run.js';
export type { DistillOptions, DistillOutcome } from './distill/run.js';
export { runExperiment } from './distill/experiment.js';

export { loadPredictor } from './serve/model.js';
export { startServeServer } from './serve/server.js';
export type { RunningServer, ServeOptions } from './serve/server.js';
