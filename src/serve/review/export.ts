/**
 * Reviewed sentences as human-labelled data: token JSONL (`{"id","tokens","entities":[{"start","end",
 * "label","text"}]}`, TOKEN offsets, the teacher's output shape without confidences) or CoNLL (`token TAG`,
 * IOB2, blank line between sentences). Only sentences marked done (Enter on the page) are exported.
 */
import { writeFileAtomic } from '../../files.js';
import { agreement } from './doubt.js';
import type { ReviewStore } from './store.js';

export type ExportFormat = 'jsonl' | 'conll';

export function exportReviewed(store: ReviewStore, format: ExportFormat): { text: string; count: number } {
  const rows = store.reviewed();
  const out: string[] = [];
  for (const { sentence, spans, updatedAt } of rows) {
    const sorted = [...spans].sort((a, b) => a.start - b.start);
    if (format === 'jsonl') {
      out.push(
        JSON.stringify({
          id: sentence.id,
          tokens: sentence.tokens,
          entities: sorted.map((s) => ({
            start: s.start,
            end: s.end,
            label: s.label,
            text: sentence.tokens.slice(s.start, s.end).join(' '),
          })),
          review: { reviewedAt: updatedAt, changed: agreement(sorted, sentence.teacher) < 1 },
        }),
      );
    } else {
      const tags = sentence.tokens.map(() => 'O');
      for (const s of sorted) for (let i = s.start; i < s.end; i++) tags[i] = `${i === s.start ? 'B' : 'I'}-${s.label}`;
      out.push(sentence.tokens.map((t, i) => `${t} ${tags[i]}`).join('\n'));
    }
  }
  const text = format === 'jsonl' ? out.map((l) => `${l}\n`).join('') : out.map((b) => `${b}\n\n`).join('');
  return { text, count: rows.length };
}

/** writes the export atomically (temp file + rename) */
export function exportToFile(
  store: ReviewStore,
  file: string,
  format?: ExportFormat,
): { count: number; format: ExportFormat } {
  const fmt: ExportFormat = format ?? (/\.(conll|txt|iob2?)$/i.test(file) ? 'conll' : 'jsonl');
  const { text, count } = exportReviewed(store, fmt);
  writeFileAtomic(file, text);
  return { count, format: fmt };
}
