/** The shared corpora (../shared/data beside the project root), with the counts the data README gives. */
import { readFileSync } from 'node:fs';
import { DATA, dataPath } from '../helpers/data.js';

export { DATA, dataPath };

export interface SharedFile {
  /** path relative to DATA */
  name: string;
  scheme: 'iob1' | 'iob2';
  sentences: number;
  tokens: number;
  entities: number;
  types?: Record<string, number>;
  delimiter: ' ' | '\t';
}

const CONLL = {
  train: { sentences: 14041, tokens: 203621, entities: 23499, types: { LOC: 7140, MISC: 3438, ORG: 6321, PER: 6600 } },
  dev: { sentences: 3250, tokens: 51362, entities: 5942, types: { LOC: 1837, MISC: 922, ORG: 1341, PER: 1842 } },
  test: { sentences: 3453, tokens: 46435, entities: 5648, types: { LOC: 1668, MISC: 702, ORG: 1661, PER: 1617 } },
};

export const SHARED_FILES: SharedFile[] = [
  { name: 'conll2003/train.txt', scheme: 'iob2', delimiter: ' ', ...CONLL.train },
  { name: 'conll2003/dev.txt', scheme: 'iob2', delimiter: ' ', ...CONLL.dev },
  { name: 'conll2003/test.txt', scheme: 'iob2', delimiter: ' ', ...CONLL.test },
  { name: 'conll2003-iob1/eng.train', scheme: 'iob1', delimiter: ' ', ...CONLL.train },
  { name: 'conll2003-iob1/eng.testa', scheme: 'iob1', delimiter: ' ', ...CONLL.dev },
  { name: 'conll2003-iob1/eng.testb', scheme: 'iob1', delimiter: ' ', ...CONLL.test },
  { name: 'wnut17/wnut17train.conll', scheme: 'iob2', delimiter: '\t', sentences: 3394, tokens: 62730, entities: 1975 },
  { name: 'wnut17/emerging.dev.conll', scheme: 'iob2', delimiter: '\t', sentences: 1009, tokens: 15733, entities: 836 },
  {
    name: 'wnut17/emerging.test.annotated',
    scheme: 'iob2',
    delimiter: '\t',
    sentences: 1287,
    tokens: 23394,
    entities: 1079,
  },
  { name: 'ncbi_disease/train.tsv', scheme: 'iob2', delimiter: '\t', sentences: 5432, tokens: 136086, entities: 5145 },
  { name: 'ncbi_disease/devel.tsv', scheme: 'iob2', delimiter: '\t', sentences: 923, tokens: 23969, entities: 787 },
  { name: 'ncbi_disease/test.tsv', scheme: 'iob2', delimiter: '\t', sentences: 940, tokens: 24497, entities: 960 },
];

export function readShared(name: string): string {
  return readFileSync(dataPath(name), 'utf8');
}
