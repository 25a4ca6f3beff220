/**
 * Applying one reviewer action to a sentence's working spans: a pure function, so the rules (spans stay on
 * token boundaries, never overlap, carry a known type) live in one place and the server, the tests and the
 * page agree on them. `undo` is the store's business (it keeps every action's before/after).
 */
import type { ReviewAction, ReviewSentence, ReviewSpan, ReviewState } from './model.js';

export class ActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActionError';
  }
}

function quote(tokens: string[], s: { start: number; end: number }): string {
  return JSON.stringify(tokens.slice(s.start, s.end).join(' '));
}

function checkSpan(
  sentence: ReviewSentence,
  spans: ReviewSpan[],
  cand: { start: number; end: number; label: string },
  self?: number,
): void {
  const n = sentence.tokens.length;
  if (
    !Number.isInteger(cand.start) ||
    !Number.isInteger(cand.end) ||
    cand.start < 0 ||
    cand.end > n ||
    cand.start >= cand.end
  ) {
    throw new ActionError(
      `span [${cand.start}, ${cand.end}) is not within the sentence's ${n} tokens (start < end required)`,
    );
  }
  for (const other of spans) {
    if (other.id === self) continue;
    if (cand.start < other.end && other.start < cand.end) {
      throw new ActionError(
        `span ${quote(sentence.tokens, cand)} would overlap ${other.label} ${quote(sentence.tokens, other)}`,
      );
    }
  }
}

function checkLabel(label: unknown, types: string[]): string {
  if (typeof label !== 'string' || !types.includes(label)) {
    throw new ActionError(`unknown entity type ${JSON.stringify(label)}; known types: ${types.join(', ')}`);
  }
  return label;
}

function find(spans: ReviewSpan[], id: unknown): ReviewSpan {
  const s = spans.find((x) => x.id === id);
  if (!s) throw new ActionError(`no span with id ${JSON.stringify(id)} in this sentence`);
  return s;
}

const sortSpans = (spans: ReviewSpan[]): ReviewSpan[] => spans.sort((a, b) => a.start - b.start);

/** the new status and spans after `action` (the input is not modified) */
export function applyAction(
  sentence: ReviewSentence,
  state: ReviewState,
  action: ReviewAction,
  types: string[],
): Pick<ReviewState, 'status' | 'spans'> {
  const spans = state.spans.map((s) => ({ ...s }));
  const nextId = () => spans.reduce((m, s) => Math.max(m, s.id), 0) + 1;
  switch (action.type) {
    case 'accept-entity': {
      const s = find(spans, action.span);
      if (s.status === 'pending') s.status = 'accepted';
      return { status: state.status, spans };
    }
    case 'reject-entity': {
      const s = find(spans, action.span);
      return { status: state.status, spans: spans.filter((x) => x !== s) };
    }
    case 'set-span': {
      const s = find(spans, action.span);
      checkSpan(sentence, spans, { start: action.start, end: action.end, label: s.label }, s.id);
      s.start = action.start;
      s.end = action.end;
      if (s.status !== 'added') s.status = 'edited';
      return { status: state.status, spans: sortSpans(spans) };
    }
    case 'set-label': {
      const s = find(spans, action.span);
      s.label = checkLabel(action.label, types);
      if (s.status !== 'added') s.status = 'edited';
      return { status: state.status, spans };
    }
    case 'add-entity': {
      const label = checkLabel(action.label, types);
      checkSpan(sentence, spans, { start: action.start, end: action.end, label });
      spans.push({ id: nextId(), start: action.start, end: action.end, label, status: 'added', source: 'human' });
      return { status: state.status, spans: sortSpans(spans) };
    }
    case 'accept-sentence':
      return { status: 'done', spans: spans.map((s) => (s.status === 'pending' ? { ...s, status: 'accepted' } : s)) };
    case 'reopen':
      return { status: 'todo', spans };
    case 'use-student': {
      if (!sentence.student) throw new ActionError('no student predictions: start `nerd review` with --model DIR');
      let id = nextId();
      const fromStudent: ReviewSpan[] = sentence.student.map((e) => ({
        id: id++,
        start: e.start,
        end: e.end,
        label: e.label,
        status: 'edited',
        source: 'student',
        confidence: e.score,
      }));
      return { status: state.status, spans: sortSpans(fromStudent) };
    }
    case 'undo':
      throw new ActionError('undo is handled by the store');
    default:
      throw new ActionError(`unknown action ${JSON.stringify((action as { type?: unknown }).type)}`);
  }
}

/** validates an action from the page (untrusted JSON) */
export function parseAction(raw: unknown): ReviewAction {
  if (typeof raw !== 'object' || raw === null) throw new ActionError('action must be a JSON object with a "type"');
  const a = raw as Record<string, unknown>;
  const int = (k: string): number => {
    const v = a[k];
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new ActionError(`action ${String(a.type)}: "${k}" must be an integer`);
    return v;
  };
  switch (a.type) {
    case 'accept-entity':
    case 'reject-entity':
      return { type: a.type, span: int('span') };
    case 'set-span':
      return { type: a.type, span: int('span'), start: int('start'), end: int('end') };
    case 'set-label':
      return { type: a.type, span: int('span'), label: String(a.label) };
    case 'add-entity':
      return { type: a.type, start: int('start'), end: int('end'), label: String(a.label) };
    case 'accept-sentence':
    case 'reopen':
    case 'use-student':
    case 'undo':
      return { type: a.type };
    default:
      throw new ActionError(`unknown action type ${JSON.stringify(a.type)}`);
  }
}
