/**
 * File helpers shared by every stage, so that each job follows one policy:
 *
 *  - reading: `readText` / `readTextAsync` / `readJsonFile` read a file or throw an InputError naming it
 *    ("cannot read corpus: no such file"); text must be UTF-8 (a leading BOM is dropped): bytes that are not
 *    UTF-8 are refused with the line of the first bad byte, never silently read as U+FFFD (`decodeUtf8`);
 *  - JSON: `jsonErrorPosition` turns a JSON.parse error into a line and column of the text;
 *  - writing: `writeFileAtomic`, `writeFileAtomicAsync` and `replaceDir` write through a temporary beside the
 *    target, flushed to disk, then renamed over it, so a reader (or a kill at any moment) sees the old
 *    content or the new, never a part. One temporary name: `.NAME.PID-RANDOM.tmp` in the target's folder
 *    (same file system, so the rename is atomic; hidden, so globs skip it). A folder being replaced is moved
 *    aside to `NAME.replaced` for the instant between two renames; `recoverDir` undoes an interrupted swap.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from './errors.js';

// ---------------------------------------------------------------------------------------------------------
// reading

/** Why a read failed, in a few words. */
function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (err as Error).message;
}

/** The bytes of a file; a missing or unreadable file is an InputError `cannot read WHAT: why`. */
export function readBytes(file: string, what = 'file'): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InputError(`cannot read ${what}: ${readProblem(err)}`, file);
  }
}

/** A UTF-8 text file (BOM dropped); missing, unreadable or not UTF-8: an InputError naming the file. */
export function readText(file: string, what = 'file'): string {
  return dropBom(decodeUtf8(readBytes(file, what), file));
}

/** `readText`, without blocking the event loop (servers, long runs). */
export async function readTextAsync(file: string, what = 'file'): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new InputError(`cannot read ${what}: ${readProblem(err)}`, file);
  }
  return dropBom(decodeUtf8(bytes, file));
}

/** A JSON file; bad JSON is an InputError at its line and column. */
export async function readJsonFile(file: string, what = 'file'): Promise<unknown> {
  return parseJson(await readTextAsync(file, what), file);
}

/** JSON.parse with an InputError at the line and column of the problem. */
export function parseJson(text: string, file?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const pos = jsonErrorPosition(text, err);
    throw new InputError(`invalid JSON: ${shortJsonMessage(err)}`, file, pos?.line, pos?.column);
  }
}

/** V8's JSON.parse message without its "in JSON at position N (line L column C)" tail. */
export function shortJsonMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/,? in JSON at position \d+.*$/s, '').replace(/\s*\(line \d+ column \d+\)$/, '');
}

/** The 1-based line and column a JSON.parse error points at in `text` (undefined when it names none). */
export function jsonErrorPosition(text: string, err: unknown): { line: number; column: number } | undefined {
  const m = /position (\d+)/.exec(err instanceof Error ? err.message : String(err));
  if (!m) return undefined;
  const offset = Math.min(Number(m[1]), text.length);
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

/** Decodes UTF-8 strictly: a file silently read with U+FFFD in place of its bytes would be wrong data. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new InputError('the file is UTF-16; save it as UTF-8', file, 1);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    // find the line of the first bad byte
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let line = 1;
    for (let from = 0; from < bytes.length; line++) {
      let to = bytes.indexOf(0x0a, from);
      if (to < 0) to = bytes.length;
      try {
        decoder.decode(bytes.subarray(from, to));
      } catch {
        throw new InputError(
          'the file is not UTF-8 (is it Latin-1 or Windows-1252? convert it with iconv)',
          file,
          line,
        );
      }
      from = to + 1;
    }
    throw new InputError('the file is not UTF-8', file);
  }
}

function dropBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

// ---------------------------------------------------------------------------------------------------------
// writing

/** The temporary beside `target` that an atomic write goes through: `.NAME.PID-RANDOM.tmp`. */
export function tempPath(target: string): string {
  const rand = Math.random().toString(36).slice(2, 8);
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${rand}.tmp`);
}

function writeProblem(err: unknown, file: string): InputError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  return new InputError(`cannot write: ${why}`, file);
}

/**
 * Writes a file atomically (temporary, fsync, rename). `data` may be an iterable of strings, written as they
 * come, so a large output need not be joined in memory. A failure leaves any old file as it was and is an
 * InputError naming `file`.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array | Iterable<string>): void {
  const tmp = tempPath(file);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    // writeFileSync on a descriptor writes at its position and loops over partial writes
    if (typeof data === 'string' || data instanceof Uint8Array) writeFileSync(fd, data);
    else for (const piece of data) writeFileSync(fd, piece);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err instanceof InputError ? err : writeProblem(err, file);
  }
}

/** Writes a file atomically through `write(handle)` (streamed writes of large binary files). */
export async function writeFileAtomicAsync(file: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = tempPath(file);
  const fh = await open(tmp, 'w').catch((err) => Promise.reject(writeProblem(err, file)));
  try {
    await write(fh);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, file);
}

/**
 * Writes a folder atomically: `fill(tmp)` fills a fresh temporary folder, which then takes the place of `dir`
 * (see `swapDir`). If `fill` throws, the temporary is removed and `dir` is untouched.
 */
export async function replaceDir(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  await recoverDir(dir);
  const tmp = tempPath(dir);
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  await swapDir(tmp, dir);
}

/** Puts the finished folder `tmp` in place of `dir`: `dir` → `dir.replaced`, `tmp` → `dir`, then drops the old. */
export async function swapDir(tmp: string, dir: string): Promise<void> {
  const old = `${dir}.replaced`;
  if (existsSync(dir)) await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

/**
 * Undoes an interrupted `swapDir`/`replaceDir`: puts `dir.replaced` back when `dir` is missing (else drops it)
 * and removes temporaries of `dir` stranded by a killed writer. Call it before reading or writing `dir`.
 */
export async function recoverDir(dir: string): Promise<void> {
  const target = path.resolve(dir);
  const old = `${target}.replaced`;
  if (existsSync(old)) {
    if (existsSync(target)) await rm(old, { recursive: true, force: true });
    else await rename(old, target);
  }
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let names: string[] = [];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && /^\d+-[0-9a-z]*\.tmp$/.test(name.slice(prefix.length))) {
      await rm(path.join(parent, name), { recursive: true, force: true });
    }
  }
}
