/**
 * Where tests find things, resolved from this file (not from the current directory, so a test run from
 * another folder still works): the project root and the shared corpora in ../shared/data beside it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** the project root (the folder of package.json) */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** the shared corpora and vocabularies (see its README) */
export const DATA = path.resolve(ROOT, '../shared/data');

/** a file under ../shared/data, e.g. `dataPath('conll2003/dev.txt')` */
export function dataPath(...parts: string[]): string {
  return path.join(DATA, ...parts);
}

/** the BERT vocabularies in ../shared/data/vocab */
export const VOCAB = {
  cased: dataPath('vocab/bert-base-cased-vocab.txt'),
  uncased: dataPath('vocab/bert-base-uncased-vocab.txt'),
};
