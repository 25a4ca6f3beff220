/**
 * A Hugging Face hub stand-in for tests (not a test file itself): a real HTTP server on 127.0.0.1 serving
 * model repositories from folders with the routes and headers @huggingface/hub and Python's huggingface_hub
 * read:
 *
 *   GET /api/models/{org}/{name}/revision/{rev}   model info JSON: id, sha (the commit), siblings
 *   GET /{org}/{name}/resolve/{rev}/{file}        the file; ETag (git blob sha1, quoted), X-Repo-Commit,
 *                                                 X-Linked-Etag / X-Linked-Size for LFS files (sha256),
 *                                                 Content-Length; `Range: bytes=a-b` answered with 206
 *
 * Unknown repositories answer 404 with X-Error-Code RepoNotFound, unknown files EntryNotFound, as the hub does.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface HubRepo {
  /** the folder whose files the repository holds */
  dir: string;
  /** the commit of "main" (40 hex) */
  commit: string;
  /** files stored with LFS (their ETag is the sha256, as on the hub); default: *.safetensors, *.bin, *.onnx */
  lfs?: (file: string) => boolean;
}

export interface HubServer {
  url: string;
  /** request lines seen, e.g. "GET /api/models/org/name/revision/main" */
  log: string[];
  close(): Promise<void>;
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix)).flatMap((f) => {
    const rel = prefix ? `${prefix}/${f}` : f;
    return statSync(path.join(dir, rel)).isDirectory() ? listFiles(dir, rel) : [rel];
  });
}

export async function startHub(repos: Record<string, HubRepo>): Promise<HubServer> {
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    log.push(`${req.method} ${url.pathname}`);
    const notFound = (code: string) => {
      res.writeHead(404, { 'Content-Type': 'application/json', 'X-Error-Code': code });
      res.end(JSON.stringify({ error: code === 'RepoNotFound' ? 'Repository not found' : 'Entry not found' }));
    };
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const repo = repos[m[1]!];
      const rev = decodeURIComponent(m[2]!);
      if (!repo || (rev !== 'main' && rev !== 'HEAD' && rev !== repo.commit)) return notFound('RepoNotFound');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          _id: 'x',
          id: m[1],
          sha: repo.commit,
          private: false,
          lastModified: '2024-01-01T00:00:00.000Z',
          siblings: listFiles(repo.dir).map((rfilename) => ({ rfilename })),
        }),
      );
      return;
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m) return notFound('RepoNotFound');
    const repo = repos[m[1]!];
    const rev = decodeURIComponent(m[2]!);
    if (!repo || (rev !== 'main' && rev !== repo.commit)) return notFound('RepoNotFound');
    const file = m[3]!;
    let body: Buffer;
    try {
      if (file.split('/').includes('..')) throw new Error('bad path');
      body = readFileSync(path.join(repo.dir, file));
    } catch {
      return notFound('EntryNotFound');
    }
    const isLfs = (repo.lfs ?? ((f: string) => /\.(safetensors|bin|onnx)$/.test(f)))(file);
    const gitOid = createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
    const headers: Record<string, string> = {
      'X-Repo-Commit': repo.commit,
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
    };
    if (isLfs) {
      headers.ETag = `"${createHash('sha256').update(body).digest('hex')}"`;
      headers['X-Linked-Etag'] = headers.ETag;
      headers['X-Linked-Size'] = String(body.length);
    } else {
      headers.ETag = `"${gitOid}"`;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const a = Number(range[1]);
      const b = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      const part = body.subarray(a, b + 1);
      res.writeHead(206, {
        ...headers,
        'Content-Range': `bytes ${a}-${b}/${body.length}`,
        'Content-Length': String(part.length),
      });
      res.end(req.method === 'HEAD' ? undefined : part);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
