/**
 * One progress bar for every long-running command (training, annotation, prediction, experiments):
 * done/total, rate, ETA and any extra fields the caller passes (loss, tokens/s, $ spent...).
 *
 * Rendering goes through cli-progress (redraws in place on a terminal; on a pipe or a log file it writes
 * one line every `logIntervalMs`, so `nohup ... > run.log` stays readable). The rate and the ETA are
 * computed here from a sliding window of recent updates, because a run's first steps (graph building,
 * warm-up) are much slower than its steady state and cli-progress's ETA only knows about counts.
 *
 * Library callers can pass `{ enabled: false }` (tests, servers) and read `snapshot()` or use `onUpdate`.
 */
import cliProgress from 'cli-progress';

export type ProgressFields = Record<string, string | number | undefined>;

export interface ProgressOptions {
  /** shown before the bar, e.g. "train epoch 2/5" */
  label?: string;
  /** name of what is counted, e.g. "steps", "sentences" (default "items") */
  unit?: string;
  /** where to draw (default process.stderr) */
  stream?: NodeJS.WritableStream;
  /** false: draw nothing (snapshots and onUpdate still work); default true */
  enabled?: boolean;
  /** when the stream is not a terminal, write one line this often (default 10 s) */
  logIntervalMs?: number;
  /** sliding window for the rate, in ms (default 30 s) */
  rateWindowMs?: number;
  /** called on every update with the current numbers */
  onUpdate?: (s: ProgressSnapshot) => void;
  /** clock, for tests (default Date.now) */
  now?: () => number;
}

export interface ProgressSnapshot {
  label: string;
  done: number;
  total: number;
  /** units per second over the recent window (0 until two updates are seen) */
  rate: number;
  /** seconds left at the current rate (Infinity when unknown) */
  etaS: number;
  elapsedS: number;
  fields: ProgressFields;
}

/** `75` → "1m15s", `3725` → "1h02m", `Infinity` → "?" */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

/** compact number for a status line: 3 significant digits, k/M suffixes for large values */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(a >= 1e7 ? 1 : 2)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  if (a >= 100 || Number.isInteger(x)) return x.toFixed(0);
  if (a >= 1) return x.toFixed(2);
  if (a === 0) return '0';
  if (a < 0.01) return x.toExponential(2);
  return x.toPrecision(3);
}

function formatField(key: string, value: string | number): string {
  if (typeof value === 'number') {
    if (key === '$') return `$${value.toFixed(value < 1 ? 4 : 2)}`;
    return `${key} ${formatNumber(value)}`;
  }
  return key === '' ? value : `${key} ${value}`;
}

/** The text of one status line (no bar), e.g. `train 120/400 steps 3.1/s ETA 1m30s loss 0.41`. */
export function formatStatus(s: ProgressSnapshot, unit = 'items'): string {
  const parts: string[] = [];
  if (s.label) parts.push(s.label);
  const pct = s.total > 0 ? ` (${((100 * s.done) / s.total).toFixed(0)}%)` : '';
  parts.push(`${s.done}/${s.total > 0 ? s.total : '?'} ${unit}${pct}`);
  if (s.rate > 0) parts.push(`${formatNumber(s.rate)} ${unit}/s`);
  parts.push(`ETA ${formatDuration(s.etaS)}`);
  parts.push(`elapsed ${formatDuration(s.elapsedS)}`);
  for (const [k, v] of Object.entries(s.fields)) if (v !== undefined) parts.push(formatField(k, v));
  return parts.join(' | ');
}

export class Progress {
  private readonly opts: Required<Omit<ProgressOptions, 'onUpdate' | 'stream'>> &
    Pick<ProgressOptions, 'onUpdate' | 'stream'>;
  private bar: cliProgress.SingleBar | undefined;
  private doneCount = 0;
  private totalCount: number;
  private readonly startMs: number;
  private history: Array<[number, number]> = [];
  private fieldValues: ProgressFields = {};
  private stopped = false;

  constructor(total: number, options: ProgressOptions = {}) {
    this.opts = {
      label: options.label ?? '',
      unit: options.unit ?? 'items',
      enabled: options.enabled ?? true,
      logIntervalMs: options.logIntervalMs ?? 10_000,
      rateWindowMs: options.rateWindowMs ?? 30_000,
      now: options.now ?? Date.now,
      onUpdate: options.onUpdate,
      stream: options.stream,
    };
    this.totalCount = total;
    this.startMs = this.opts.now();
    this.history.push([this.startMs, 0]);
    if (this.opts.enabled) {
      const stream = (this.opts.stream ?? process.stderr) as NodeJS.WriteStream;
      this.bar = new cliProgress.SingleBar(
        {
          stream,
          format: () => this.render(true),
          noTTYOutput: true,
          notTTYSchedule: this.opts.logIntervalMs,
          fps: 5,
          hideCursor: false,
          clearOnComplete: false,
          linewrap: false,
          barsize: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(total, 1), 0);
    }
  }

  get done(): number {
    return this.doneCount;
  }

  get total(): number {
    return this.totalCount;
  }

  /** a done count resumed from an earlier run: counts toward `done` but not toward the rate */
  resumeAt(done: number): void {
    this.doneCount = done;
    this.history = [[this.opts.now(), done]];
    this.bar?.update(done);
  }

  setTotal(total: number): void {
    this.totalCount = total;
    this.bar?.setTotal(Math.max(total, 1));
  }

  /** set extra fields shown after the ETA (e.g. `{loss: 0.4, 'tok/s': 5120, $: 0.12}`) */
  setFields(fields: ProgressFields): void {
    Object.assign(this.fieldValues, fields);
  }

  tick(n = 1, fields?: ProgressFields): void {
    this.update(this.doneCount + n, fields);
  }

  update(done: number, fields?: ProgressFields): void {
    if (fields) this.setFields(fields);
    this.doneCount = done;
    const now = this.opts.now();
    this.history.push([now, done]);
    // keep the window plus one point before it
    const cutoff = now - this.opts.rateWindowMs;
    while (this.history.length > 2 && this.history[1]![0] <= cutoff) this.history.shift();
    this.bar?.update(done);
    this.opts.onUpdate?.(this.snapshot());
  }

  snapshot(): ProgressSnapshot {
    const now = this.opts.now();
    const [t0, d0] = this.history[0]!;
    const [t1, d1] = this.history[this.history.length - 1]!;
    const rate = t1 > t0 && d1 > d0 ? ((d1 - d0) * 1000) / (t1 - t0) : 0;
    const left = Math.max(this.totalCount - this.doneCount, 0);
    return {
      label: this.opts.label,
      done: this.doneCount,
      total: this.totalCount,
      rate,
      etaS: left === 0 ? 0 : rate > 0 ? left / rate : Infinity,
      elapsedS: (now - this.startMs) / 1000,
      fields: { ...this.fieldValues },
    };
  }

  /** the status line; with `bar`, a 20-character bar is drawn before it */
  render(bar = false): string {
    const s = this.snapshot();
    const text = formatStatus(s, this.opts.unit);
    if (!bar) return text;
    const width = 20;
    const filled = s.total > 0 ? Math.min(width, Math.round((width * s.done) / s.total)) : 0;
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
  }

  /** draws the final state and a newline; idempotent */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.bar) {
      this.bar.update(this.doneCount);
      this.bar.stop();
    }
  }

  /** write a line above the bar (e.g. an epoch's dev score) without garbling it */
  log(line: string): void {
    if (!this.opts.enabled) return;
    const stream = (this.opts.stream ?? process.stderr) as NodeJS.WriteStream;
    if (stream.isTTY) {
      stream.write(`\r\x1b[2K${line}\n`);
      this.bar?.render();
    } else {
      stream.write(`${line}\n`);
    }
  }
}
