/**
 * score/: entity-level precision, recall and F1 (overall and per type) and token accuracy, identical to the CoNLL
 * `conlleval` script, plus seqeval's strict mode.
 *
 *   scoreTagSequences(goldTags, predTags)      sentences of tags -> Report
 *   scoreCorpora(goldCorpus, predCorpus)       two aligned corpora -> Report (refuses misaligned tokens)
 *   countConllevalText(text, opts)             conlleval's own file format -> Counts (reportFromCounts -> Report)
 *   formatConllevalReport(report)              conlleval's text report, byte for byte
 *   reportToJson(report)                       the `nerd eval --json` object
 */
export { ConllevalCounter, conllevalCounts } from './conlleval.js';
export type { Counts, TypeCounts } from './conlleval.js';
export { conllevalRows, conllevalSentences, countConllevalText, forEachConllevalRow } from './conlleval-input.js';
export type { ConllevalInputOptions, ConllevalRow } from './conlleval-input.js';
export { formatConllevalReport, reportFromCounts, reportToJson } from './report.js';
export type { Report, ReportJson, ScoreMode, TypeScore } from './report.js';
export { iob2Tags, scoreCorpora, scoreTagSequences } from './score.js';
export type { CorpusScoreOptions, ScoreOptions } from './score.js';
export { strictCounts, strictEntities } from './strict.js';
export type { StrictEntity, StrictScheme, TagLocation } from './strict.js';
