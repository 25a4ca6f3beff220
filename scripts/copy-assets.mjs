// After `tsc`: copy the non-TypeScript files the built package serves (the review page) into dist/.
import { cpSync } from 'node:fs';

for (const dir of ['serve/review/page']) {
  cpSync(`src/${dir}`, `dist/${dir}`, { recursive: true, filter: (f) => !f.endsWith('.ts') });
}
