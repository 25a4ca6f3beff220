/**
 * The student stage's public API: a BERT token classifier trained and run through onnxruntime-node.
 *
 *   train(options)                          fine-tune a preset or a checkpoint on labelled sentences
 *   evaluate(predictor, gold)               conlleval-exact dev score of a predictor
 *   Predictor.load(dir | ORG/NAME)          a saved (or Hugging Face hub) model: predictSentences, predictTexts
 *   predictFile(predictor, input, out)      label a corpus file in bounded memory
 *   loadCheckpoint / saveCheckpoint         Hugging Face checkpoint folders (config.json, safetensors, vocab)
 *   Tokenizer                               BERT WordPiece, identical ids to Hugging Face's
 *   encodeSentences / wordProbabilities     sentences to windows of sub-words and back to word labels
 *   pretrain(options)                       masked-LM pre-training on raw text
 *   exportModel / quantizeModel             ONNX export, int8 weights
 *
 * Raw text is split into words by the corpus stage (corpus/words.ts) and tags into spans by its tag rules.
 */
export { train, DEFAULT_VOCAB } from './train.js';
export { evaluate } from './train-eval.js';
export { labelSetOf } from './train-plan.js';
export type { DevScore, EvalRecord, TrainOptions, TrainResult, TrainSource, TrainerState } from './train-types.js';
export { Predictor, chunkTags, decodeWords, labelsFromConfig } from './predict.js';
export type { LogitsFn, PredictorOptions, TextPrediction, WordDecoding, WordPrediction } from './predict.js';
export { predictFile, readCorpusChunks } from './predict-stream.js';
export type { PredictFileOptions, PredictFileResult } from './predict-stream.js';
export { OnnxLogits } from './onnx-logits.js';
export { encodeSentences, planWindows, wordPieceOf, wordProbabilities, IGNORE_LABEL } from './align.js';
export type { EncodedWindow, EncodeOptions, WindowLogits, WordPieceLike } from './align.js';
export { Tokenizer } from './tokenizer.js';
export { DEFAULT_SPECIAL } from './tokenizer-settings.js';
export type { Encoding, SpecialTokens, TokenizerSettings } from './tokenizer-settings.js';
export { HfTokenizer } from './tokenizer-hf.js';
export { loadCheckpoint } from './checkpoint.js';
export type { LoadedCheckpoint } from './checkpoint.js';
export { bertParamShapes, labelsOf, readBertConfig, recoverCheckpointDir } from './checkpoint-files.js';
export { saveCheckpoint } from './checkpoint-save.js';
export type { CheckpointToSave } from './checkpoint-save.js';
export { readSafetensors, writeSafetensors } from './safetensors.js';
export { openModelFolder, resolveModelDir } from './model-folder.js';
export type { OpenedModel } from './model-folder.js';
export { parseHubName, resolveHubModel } from './hub.js';
export type { HubName, HubOptions } from './hub.js';
export { PRESETS, isPresetName, presetConfig } from './presets.js';
export type { PresetName } from './presets.js';
export { pretrain } from './pretrain.js';
export type { PretrainOptions, PretrainResult } from './pretrain.js';
export { exportModel } from './export.js';
export type { ExportResult } from './export.js';
export { quantizeModel } from './quantize.js';
export type { QuantizeOptions, QuantizeReport, WeightType } from './quantize.js';
export { BertEngine } from './engine.js';
export type { EngineOptions } from './engine.js';
export { collate, makeBatches, mixSources, planBatches } from './batches.js';
export type { Example } from './batches.js';
export type { Batch, BertConfig, NamedTensor, ParamMap } from './types.js';
