/**
 * Where the review page's static files live. They are plain HTML/JS/CSS (no build step) kept beside this
 * module in the source tree; `npm run build` copies them into dist/ (scripts/copy-assets.mjs). The source
 * tree's copy is a fallback for a build made by plain `tsc`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const candidates = [here, path.resolve(here, '../../../../src/serve/review/page')];

export function pageFile(name: string): string {
  for (const dir of candidates) {
    const f = path.join(dir, name);
    if (existsSync(f)) return f;
  }
  throw new Error(`review page file ${name} not found (looked in ${candidates.join(', ')})`);
}
