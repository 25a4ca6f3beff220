/**
 * Hugging Face hub names for `--model`: `ORG/NAME[@REVISION]` resolves to a snapshot folder of the standard
 * hub cache, the same one Python's huggingface_hub and transformers use, so a model either of them
 * downloaded is found here without a download, and the reverse:
 *
 *   $HF_HUB_CACHE (default $HF_HOME/hub, default ~/.cache/huggingface/hub)
 *     models--ORG--NAME/
 *       refs/main                  the commit the revision "main" resolved to
 *       blobs/<etag>               file contents, named by git blob id or LFS sha256
 *       snapshots/<commit>/<file>  relative symlinks into blobs/
 *
 * The revision is resolved to the repository's commit first (model info `sha`) and every file is fetched at
 * that commit, so one snapshot folder holds the whole model (`downloadFileToCacheDir` of @huggingface/hub
 * would name the folder after each file's own last commit, splitting a model over several folders).
 *
 * Environment, as in Python: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (or the file
 * $HF_HOME/token), HF_HUB_OFFLINE=1 (cache only: a missing model is one line naming what is missing).
 * Only the files a token classifier needs are fetched: config, tokenizer files, one weights format.
 */
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { downloadFile, fileDownloadInfo, getHFHubCachePath, getRepoFolderName, modelInfo } from '@huggingface/hub';
import { InputError } from '../errors.js';
import { Progress } from '../progress.js';

/** a hub model name: `ORG/NAME` with an optional `@REVISION` (branch, tag or commit) */
export interface HubName {
  repo: string;
  revision: string;
}

const NAME = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
const COMMIT = /^[0-9a-f]{40}$/;

/** `ORG/NAME[@REVISION]` → its parts, or null when `spec` is not shaped like a hub name */
export function parseHubName(spec: string): HubName | null {
  const at = spec.indexOf('@');
  const repo = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? 'main' : spec.slice(at + 1);
  if (!NAME.test(repo) || repo.includes('..') || repo.includes('--')) return null;
  if (!revision || /\s|\.\.|^\/|\/$/.test(revision)) return null;
  return { repo, revision };
}

export interface HubOptions {
  /** the cache folder (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub) */
  cacheDir?: string;
  /** default: HF_ENDPOINT or https://huggingface.co */
  endpoint?: string;
  /** default: HF_TOKEN, HUGGING_FACE_HUB_TOKEN or the file $HF_HOME/token */
  token?: string;
  /** default: HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is 1/true/yes/on */
  offline?: boolean;
  /** download progress bars on stderr (default true) */
  progress?: boolean;
  /** one-line notes (default: stderr, prefixed "nerd: ") */
  log?: (line: string) => void;
}

const TRUE = /^(1|true|yes|on)$/i;

function settings(opts: HubOptions): Required<Omit<HubOptions, 'token'>> & { token?: string } {
  const env = process.env;
  const hfHome = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(homeDir(), '.cache'), 'huggingface');
  let token = opts.token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  if (token === undefined) {
    const file = env.HF_TOKEN_PATH ?? path.join(hfHome, 'token');
    if (existsSync(file)) token = readFileSync(file, 'utf8').trim() || undefined;
  }
  return {
    cacheDir: opts.cacheDir ?? getHFHubCachePath(),
    endpoint: (opts.endpoint ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''),
    token,
    offline: opts.offline ?? (TRUE.test(env.HF_HUB_OFFLINE ?? '') || TRUE.test(env.TRANSFORMERS_OFFLINE ?? '')),
    progress: opts.progress ?? true,
    log: opts.log ?? ((line) => process.stderr.write(`nerd: ${line}\n`)),
  };
}

function homeDir(): string {
  return process.env.HOME ?? process.env.USERPROFILE ?? '.';
}

/** the cache folder of a repository, e.g. ~/.cache/huggingface/hub/models--ORG--NAME */
export function repoCacheDir(repo: string, cacheDir = getHFHubCachePath()): string {
  return path.join(cacheDir, getRepoFolderName({ type: 'model', name: repo }));
}

/** The snapshot folder of `name` already in the cache, or null (the revision's ref or the snapshot is missing). */
export function cachedSnapshot(name: HubName, cacheDir = getHFHubCachePath()): string | null {
  const storage = repoCacheDir(name.repo, cacheDir);
  let commit = name.revision;
  if (!COMMIT.test(commit)) {
    const ref = path.join(storage, 'refs', name.revision);
    if (!existsSync(ref)) return null;
    commit = readFileSync(ref, 'utf8').trim();
  }
  const snap = path.join(storage, 'snapshots', commit);
  return existsSync(path.join(snap, 'config.json')) ? snap : null;
}

/** the files of a repository a token classifier needs (given the repository's file list) */
export function wantedFiles(files: readonly string[]): { files: string[]; index?: string } {
  const have = new Set(files);
  const out = [
    'config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'special_tokens_map.json',
    'vocab.txt',
    'vocab.json',
    'merges.txt',
    'sentencepiece.bpe.model',
    'spm.model',
    'added_tokens.json',
    'onnx/model.onnx',
    'onnx/model_quantized.onnx',
  ].filter((f) => have.has(f));
  for (const w of [
    'model.safetensors',
    'model.safetensors.index.json',
    'pytorch_model.bin',
    'pytorch_model.bin.index.json',
  ]) {
    if (have.has(w)) {
      out.push(w);
      return w.endsWith('.index.json') ? { files: out, index: w } : { files: out };
    }
  }
  return { files: out };
}

/**
 * The local folder of a hub model, downloaded into the cache when missing (see the file comment).
 * Throws InputError with one line when the model cannot be found, reached or read.
 */
export async function resolveHubModel(name: HubName, opts: HubOptions = {}): Promise<string> {
  const s = settings(opts);
  const label = `${name.repo}${name.revision === 'main' ? '' : `@${name.revision}`}`;
  const storage = repoCacheDir(name.repo, s.cacheDir);
  const cached = cachedSnapshot(name, s.cacheDir);
  if (s.offline) {
    if (cached) return cached;
    const what = COMMIT.test(name.revision)
      ? `snapshots/${name.revision}/config.json`
      : existsSync(path.join(storage, 'refs', name.revision))
        ? `the snapshot refs/${name.revision} names`
        : `refs/${name.revision}`;
    throw new InputError(`HF_HUB_OFFLINE is set and ${label} is not in the hub cache (missing ${what})`, storage);
  }
  const creds = s.token ? { accessToken: s.token } : {};
  if (s.token && !s.token.startsWith('hf_'))
    throw new InputError('HF_TOKEN does not look like a Hugging Face token (they start with "hf_")');

  let commit: string;
  let files: string[];
  try {
    const info = await modelInfo({
      name: name.repo,
      revision: name.revision,
      hubUrl: s.endpoint,
      additionalFields: ['sha', 'filePaths'],
      ...creds,
    });
    commit = String(info.sha ?? '');
    files = info.filePaths ?? [];
  } catch (err) {
    const e = err as Error & { statusCode?: number };
    if (e.statusCode === undefined && cached) {
      s.log(`cannot reach ${s.endpoint} (${e.message}); using the cached ${label} (${cached})`);
      return cached;
    }
    throw hubError(e, label, s.endpoint, Boolean(s.token));
  }
  if (!COMMIT.test(commit))
    throw new InputError(`the hub answered no commit (sha) for ${label}`, `${s.endpoint}/api/models/${name.repo}`);
  const snapshot = path.join(storage, 'snapshots', commit);
  if (!COMMIT.test(name.revision)) {
    await mkdir(path.join(storage, 'refs', path.dirname(name.revision)), { recursive: true });
    await writeFile(path.join(storage, 'refs', name.revision), commit);
  }
  const wanted = wantedFiles(files);
  if (!wanted.files.includes('config.json'))
    throw new InputError(`${label} has no config.json: not a transformers model`, `${s.endpoint}/${name.repo}`);
  if (!wanted.files.some((f) => /^(model\.safetensors|pytorch_model\.bin)/.test(f))) {
    throw new InputError(
      `${label} has neither model.safetensors nor pytorch_model.bin (files: ${files.slice(0, 8).join(', ')})`,
      `${s.endpoint}/${name.repo}`,
    );
  }
  const fetchOne = (file: string) =>
    fetchToCache({ repo: name.repo, commit, file, storage, endpoint: s.endpoint, creds, progress: s.progress, label });
  for (const f of wanted.files) await fetchOne(f);
  if (wanted.index) {
    const idx = JSON.parse(await readFile(path.join(snapshot, wanted.index), 'utf8')) as {
      weight_map?: Record<string, string>;
    };
    for (const shard of new Set(Object.values(idx.weight_map ?? {}))) await fetchOne(shard);
  }
  return snapshot;
}

function hubError(e: Error & { statusCode?: number }, label: string, endpoint: string, hasToken: boolean): InputError {
  const where = `${endpoint}/${label.split('@')[0]}`;
  if (e.statusCode === 404 || e.statusCode === 401) {
    const hint = hasToken ? '' : ' (a private or gated model needs HF_TOKEN)';
    return new InputError(`no model ${label} on the hub, and no such local folder${hint}`, where);
  }
  if (e.statusCode === 403)
    return new InputError(`access to ${label} is refused (gated model: accept its terms, set HF_TOKEN)`, where);
  if (e.statusCode !== undefined)
    return new InputError(`the hub answered ${e.statusCode} for ${label}: ${e.message.split('\n')[0]}`, where);
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return new InputError(
    `cannot reach ${endpoint} (${cause?.code ?? cause?.message ?? e.message}) and ${label} is not in the hub cache; set HF_ENDPOINT, or copy the cache in and set HF_HUB_OFFLINE=1`,
    where,
  );
}

/** Python's huggingface_hub `_normalize_etag`: drops a weak `W/` prefix and the quotes */
function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

async function fetchToCache(a: {
  repo: string;
  commit: string;
  file: string;
  storage: string;
  endpoint: string;
  creds: { accessToken?: string };
  progress: boolean;
  label: string;
}): Promise<void> {
  const pointer = path.join(a.storage, 'snapshots', a.commit, a.file);
  if (existsSync(pointer)) return;
  const where = `${a.endpoint}/${a.repo}/resolve/${a.commit}/${a.file}`;
  let info: Awaited<ReturnType<typeof fileDownloadInfo>>;
  try {
    info = await fileDownloadInfo({ repo: a.repo, path: a.file, revision: a.commit, hubUrl: a.endpoint, ...a.creds });
  } catch (err) {
    throw hubError(err as Error, a.label, a.endpoint, Boolean(a.creds.accessToken));
  }
  if (!info) throw new InputError(`the hub lists ${a.file} of ${a.label} but does not serve it`, where);
  const etag = normalizeEtag(info.etag);
  if (!/^[\w.-]+$/.test(etag))
    throw new InputError(`the hub sent an unusable ETag ${JSON.stringify(info.etag)}`, where);
  const blob = path.join(a.storage, 'blobs', etag);
  await mkdir(path.dirname(blob), { recursive: true });
  await mkdir(path.dirname(pointer), { recursive: true });
  if (!existsSync(blob)) {
    const incomplete = `${blob}.incomplete`;
    const body = await downloadFile({
      repo: a.repo,
      path: a.file,
      revision: a.commit,
      hubUrl: a.endpoint,
      downloadInfo: info,
      ...a.creds,
    });
    if (!body) throw new InputError(`the hub does not serve ${a.file}`, where);
    const mb = 1 << 20;
    const bar =
      a.progress && info.size >= mb
        ? new Progress(Math.ceil(info.size / mb), { label: `download ${a.label} ${a.file}`, unit: 'MiB' })
        : null;
    let done = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        bar?.update(Math.floor(done / mb));
        cb(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(body.stream() as WebReadableStream), count, createWriteStream(incomplete));
    } catch (err) {
      await rm(incomplete, { force: true });
      throw new InputError(`download of ${a.file} failed: ${(err as Error).message}`, where);
    } finally {
      bar?.stop();
    }
    if (done !== info.size) {
      await rm(incomplete, { force: true });
      throw new InputError(`download of ${a.file} stopped at ${done} of ${info.size} bytes`, where);
    }
    await rename(incomplete, blob);
  }
  const rel = path.relative(path.dirname(pointer), blob);
  try {
    await symlink(rel, pointer);
  } catch (err) {
    // a concurrent download made the same link; anything else (no symlinks on this file system) is fatal
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || (await readlink(pointer)) !== rel) throw err;
  }
}
