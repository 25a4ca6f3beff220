/**
 * The package itself: its root folder (where package.json is, found from this module's own location so it
 * holds from src/ under tsx and from dist/ alike), its version (package.json's, the one place it is
 * written), and the default location of the shared corpora, ../shared/data beside the package root (not
 * beside the current directory, so library defaults work wherever the caller runs).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** the folder holding package.json (this file is src/package-info.ts or dist/package-info.js) */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** package.json's version */
export const VERSION: string = (
  JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/** ../shared/data beside the package root: the corpora and vocabularies the defaults point at */
export const SHARED_DATA = path.resolve(PACKAGE_ROOT, '../shared/data');

/** a path under SHARED_DATA, e.g. `sharedDataPath('vocab/bert-base-cased-vocab.txt')` */
export function sharedDataPath(...parts: string[]): string {
  return path.join(SHARED_DATA, ...parts);
}
