/**
 * Every teacher response, cached in SQLite (better-sqlite3, WAL journal) under a hash of the request: model,
 * messages, sampling parameters, sample index and retry attempt. A rerun of the same job walks the same
 * requests in the same order and finds each answer here, so it resumes after a crash or `kill -9` without
 * paying twice; cut-off (`length`) and unparseable answers are cached too, because they were paid for and
 * the job's reaction to them (ask again with a new attempt number or a larger limit) is deterministic.
 *
 * Durability: each response is committed as it arrives (one small transaction). WAL with synchronous=NORMAL
 * survives a killed process (the commit is in the OS before `put` returns); only a power loss can drop the
 * last few commits, which then are simply asked again.
 *
 * What is stored: the hash, the model name, the answer text, finish reason and token usage. Never request
 * headers or keys — nothing here can hold an API key.
 *
 * Endpoint quirks: a second table remembers what each endpoint + model accepts (providers/adapt.ts:
 * max_completion_tokens instead of max_tokens, parameters to leave out, streaming only), keyed by the
 * provider's `endpoint` (its base URL, secrets scrubbed, and model), so that a later run starts right
 * instead of collecting the same 400s again.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ChatResponse, EndpointQuirks } from './providers/types.js';

/** JSON with object keys sorted, so equal requests hash equally whatever their key order */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface CacheKeyParts {
  /** provider kind ("openai", "llama-cpp") — a GGUF file and an API never share answers */
  provider: string;
  model: string;
  messages: unknown;
  temperature: number;
  maxTokens: number;
  seed?: number;
  jsonSchema?: unknown;
  /** which of the k self-consistency samples */
  sample: number;
  /** retry attempt after an unusable answer (0 = first ask) */
  attempt: number;
}

export const CACHE_KEY_VERSION = 1;

export function requestKey(parts: CacheKeyParts): string {
  return createHash('sha256')
    .update(canonicalJson({ v: CACHE_KEY_VERSION, ...parts }))
    .digest('hex');
}

export class ResponseCache {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement;
  private readonly putStmt: Database.Statement;

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS responses (
      key TEXT PRIMARY KEY,
      model TEXT NOT NULL,
      text TEXT NOT NULL,
      finish_reason TEXT NOT NULL,
      prompt_tokens INTEGER NOT NULL,
      completion_tokens INTEGER NOT NULL,
      structured INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL
    )`);
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS endpoint_quirks (endpoint TEXT PRIMARY KEY, quirks TEXT NOT NULL, updated_at TEXT NOT NULL)',
    );
    this.getStmt = this.db.prepare(
      'SELECT model, text, finish_reason, prompt_tokens, completion_tokens, structured FROM responses WHERE key = ?',
    );
    this.putStmt = this.db.prepare(
      'INSERT OR REPLACE INTO responses (key, model, text, finish_reason, prompt_tokens, completion_tokens, structured, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  get(key: string): ChatResponse | undefined {
    const row = this.getStmt.get(key) as
      | {
          model: string;
          text: string;
          finish_reason: string;
          prompt_tokens: number;
          completion_tokens: number;
          structured: number;
        }
      | undefined;
    if (!row) return undefined;
    return {
      model: row.model,
      text: row.text,
      finishReason: row.finish_reason as ChatResponse['finishReason'],
      usage: { promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens },
      ...(row.structured ? { structured: true } : {}),
    };
  }

  put(key: string, r: ChatResponse): void {
    this.putStmt.run(
      key,
      r.model,
      r.text,
      r.finishReason,
      r.usage.promptTokens,
      r.usage.completionTokens,
      r.structured ? 1 : 0,
      new Date().toISOString(),
    );
  }

  /** what `endpoint` was found to accept in an earlier run, if anything */
  getQuirks(endpoint: string): EndpointQuirks | undefined {
    const row = this.db.prepare('SELECT quirks FROM endpoint_quirks WHERE endpoint = ?').get(endpoint) as
      | { quirks: string }
      | undefined;
    if (!row) return undefined;
    try {
      return JSON.parse(row.quirks) as EndpointQuirks;
    } catch {
      return undefined;
    }
  }

  putQuirks(endpoint: string, quirks: EndpointQuirks): void {
    this.db
      .prepare('INSERT OR REPLACE INTO endpoint_quirks (endpoint, quirks, updated_at) VALUES (?, ?, ?)')
      .run(endpoint, JSON.stringify(quirks), new Date().toISOString());
  }

  size(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM responses').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
