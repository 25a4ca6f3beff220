/**
 * Where tests find things: the project root and the shared corpora in ../shared/data beside it, as the
 * package itself resolves them (src/package-info.ts, from its own location, not from the current directory,
 * so a test run from another folder still works).
 */
import { PACKAGE_ROOT, SHARED_DATA, sharedDataPath } from '../../src/package-info.js';

/** the project root (the folder of package.json) */
export const ROOT = PACKAGE_ROOT;

/** the shared corpora and vocabularies (see its README) */
export const DATA = SHARED_DATA;

/** a file under ../shared/data, e.g. `dataPath('conll2003/dev.txt')` */
export const dataPath = sharedDataPath;

/** the BERT vocabularies in ../shared/data/vocab */
export const VOCAB = {
  cased: dataPath('vocab/bert-base-cased-vocab.txt'),
  uncased: dataPath('vocab/bert-base-uncased-vocab.txt'),
};
