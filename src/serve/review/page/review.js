// nerd review page: plain JavaScript, no build step. Every change goes to the server at once, one at a
// time in key-press order; the server applies it to the review store (SQLite) and answers with the new
// state, which is what the page shows. See the help panel (?) for the keys.

const $ = (sel) => document.querySelector(sel);
const hashParams = () => new URLSearchParams(location.hash.slice(1));

// A bearer token (when the server was started with one) comes in the URL's #token=... once and is kept
// for this tab only.
{
  const p = hashParams();
  if (p.has('token')) {
    sessionStorage.setItem('nerd-token', p.get('token'));
    p.delete('token');
    history.replaceState(null, '', `#${p}`);
  }
}
const token = sessionStorage.getItem('nerd-token');

async function api(path, init = {}) {
  const headers = {
    ...(init.body ? { 'content-type': 'application/json' } : {}),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const res = await fetch(path, { ...init, headers });
  const body = await res.json().catch(() => ({ message: res.statusText }));
  if (!res.ok) {
    const err = new Error(body.message || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

const ui = {
  meta: null,
  queue: [],
  index: 0,
  sentence: null,
  state: null,
  focus: null, // span id
  cursor: 0, // token index
  selection: null, // [from, to] token indices (inclusive) chosen with the mouse or Shift+h/l
  dragFrom: null,
  lastLabel: null,
  chain: Promise.resolve(),
  inflight: 0,
  conflict: false, // the last change was refused (409) and nothing saved since
};

function setSave(state, text) {
  const el = $('#save');
  el.dataset.state = state;
  el.textContent = text;
}

function showMessage(text) {
  $('#message').textContent = text || '';
}

function colorOf(label) {
  return (ui.meta && ui.meta.colors[label]) || '#ddd';
}

function spanAt(spans, i) {
  return spans.find((s) => s.start <= i && i < s.end);
}

function focused() {
  return ui.state && ui.state.spans.find((s) => s.id === ui.focus);
}

// ---- rendering -------------------------------------------------------------------------------------

function renderTokens(container, tokens, spans, opts) {
  container.replaceChildren();
  const studentKeys = new Set((opts.compare || []).map((e) => `${e.start}:${e.end}:${e.label}`));
  let i = 0;
  while (i < tokens.length) {
    const span = spans.find((s) => s.start === i);
    if (span) {
      const ent = document.createElement('span');
      ent.className = 'ent';
      ent.dataset.label = span.label;
      ent.dataset.start = String(span.start);
      ent.dataset.end = String(span.end);
      if (span.id !== undefined) ent.dataset.spanId = String(span.id);
      if (span.status) ent.dataset.status = span.status;
      if (opts.interactive && span.id === ui.focus) ent.classList.add('focused');
      if (studentKeys.has(`${span.start}:${span.end}:${span.label}`)) ent.classList.add('agree');
      ent.style.backgroundColor = colorOf(span.label);
      for (let k = span.start; k < span.end; k++) {
        if (k > span.start) ent.append(' ');
        ent.append(tokenEl(tokens, k, opts));
      }
      const tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = span.label;
      ent.append(tag);
      const conf = span.confidence ?? span.score;
      if (conf !== undefined && conf < 1) {
        const c = document.createElement('span');
        c.className = 'conf';
        c.textContent = conf.toFixed(2);
        ent.append(c);
      }
      container.append(ent, ' ');
      i = span.end;
    } else {
      container.append(tokenEl(tokens, i, opts), ' ');
      i++;
    }
  }
}

function tokenEl(tokens, k, opts) {
  const t = document.createElement('span');
  t.className = 'tok';
  t.dataset.i = String(k);
  t.textContent = tokens[k];
  if (opts.interactive) {
    if (k === ui.cursor) t.classList.add('cursor');
    if (ui.selection && ui.selection[0] <= k && k <= ui.selection[1]) t.classList.add('selected');
    // click: cursor here; drag across tokens: select them (then a number key or n marks them as an entity)
    t.addEventListener('mousedown', (e) => {
      ui.dragFrom = k;
      e.preventDefault();
    });
    t.addEventListener('mouseup', () => {
      const from = ui.dragFrom;
      ui.dragFrom = null;
      if (from === null || from === k) return moveCursor(k);
      select(from, k);
    });
  }
  return t;
}

function render() {
  const { sentence, state } = ui;
  if (!sentence) return;
  const entry = ui.queue[ui.index];
  const counts = ui.counts || ui.meta.counts;
  $('#progress').textContent = `${counts.done} of ${counts.total} reviewed`;
  $('#position').textContent =
    `Sentence ${ui.index + 1} of ${ui.queue.length} · id ${sentence.id} · doubt ${sentence.doubt.toFixed(2)}`;
  const reasons = $('#reasons');
  reasons.replaceChildren();
  const st = document.createElement('span');
  st.className = `reason status-${state.status}`;
  st.textContent = state.status === 'done' ? 'reviewed' : 'not reviewed';
  reasons.append(st);
  for (const r of sentence.reasons) {
    const el = document.createElement('span');
    el.className = 'reason';
    el.textContent = r;
    reasons.append(el);
  }
  renderTokens($('#sentence'), sentence.tokens, state.spans, { interactive: true, compare: sentence.student });
  const f = focused();
  $('#focus-info').textContent = f
    ? `focused: ${f.label} “${sentence.tokens.slice(f.start, f.end).join(' ')}” · tokens ${f.start}–${f.end - 1} · ${f.status}` +
      (f.source !== 'teacher' ? ` · from ${f.source}` : '')
    : `cursor on token ${ui.cursor} “${sentence.tokens[ui.cursor] ?? ''}” (no entity focused)`;
  const sb = $('#student-block');
  sb.hidden = !sentence.student;
  if (sentence.student)
    renderTokens($('#student'), sentence.tokens, sentence.student, { interactive: false, compare: sentence.teacher });
  const rb = $('#rejected-block');
  rb.hidden = sentence.rejected.length === 0;
  const ul = $('#rejected');
  ul.replaceChildren(
    ...sentence.rejected.map((r) => {
      const li = document.createElement('li');
      li.textContent = [r.label ?? r.type, r.text ? `“${r.text}”` : '', r.reason ? `— ${r.reason}` : '']
        .filter(Boolean)
        .join(' ');
      return li;
    }),
  );
  if (entry) entry.status = state.status;
  renderQueue();
}

function renderLegend() {
  $('#legend').replaceChildren(
    ...ui.meta.types.map((t, i) => {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.backgroundColor = colorOf(t);
      const k = document.createElement('kbd');
      k.textContent = i < 9 ? String(i + 1) : '';
      li.append(sw, k, ` ${t}`);
      return li;
    }),
  );
}

function renderQueue() {
  const ol = $('#queue');
  const from = Math.max(0, ui.index - 3);
  const to = Math.min(ui.queue.length, from + 18);
  ol.start = from + 1;
  ol.replaceChildren(
    ...ui.queue.slice(from, to).map((q, k) => {
      const li = document.createElement('li');
      const at = from + k;
      if (at === ui.index) li.classList.add('current');
      if (q.status === 'done') li.classList.add('done');
      li.textContent = `${q.doubt.toFixed(2)} ${q.preview}`;
      li.title = q.reasons.join(', ');
      li.addEventListener('click', () => void go(at));
      return li;
    }),
  );
}

// ---- loading and navigation ----------------------------------------------------------------------

async function go(index) {
  if (index < 0 || index >= ui.queue.length) return;
  await ui.chain; // never leave a sentence with a change still unsaved
  const entry = ui.queue[index];
  const { sentence, state } = await api(`/api/sentences/${entry.key}`);
  ui.index = index;
  ui.sentence = sentence;
  ui.state = state;
  ui.focus = null;
  ui.cursor = 0;
  ui.selection = null;
  ui.conflict = false;
  const p = hashParams();
  p.set('id', sentence.id);
  history.replaceState(null, '', `#${p}`);
  showMessage('');
  render();
}

function select(a, b) {
  const n = ui.sentence.tokens.length;
  const from = Math.max(0, Math.min(a, b));
  const to = Math.min(n - 1, Math.max(a, b));
  ui.selection = [from, to];
  ui.cursor = b;
  ui.focus = null;
  render();
}

function moveCursor(k) {
  if (!ui.sentence) return;
  ui.selection = null;
  ui.cursor = Math.max(0, Math.min(ui.sentence.tokens.length - 1, k));
  const s = spanAt(ui.state.spans, ui.cursor);
  ui.focus = s ? s.id : null;
  render();
}

function focusNext(dir) {
  ui.selection = null;
  const spans = ui.state.spans;
  if (spans.length === 0) return;
  const at = spans.findIndex((s) => s.id === ui.focus);
  const next = at < 0 ? (dir > 0 ? 0 : spans.length - 1) : (at + dir + spans.length) % spans.length;
  ui.focus = spans[next].id;
  ui.cursor = spans[next].start;
  render();
}

// ---- saving ----------------------------------------------------------------------------------------

/**
 * Queues a change. `make(state)` builds the action from the state current when its turn comes (so quick
 * key presses build on each other); returning null skips it.
 */
function act(make, after) {
  ui.inflight++;
  setSave('saving', 'saving…');
  ui.chain = ui.chain.then(async () => {
    const sentence = ui.sentence;
    const action = make(ui.state);
    if (!action) return;
    try {
      const res = await api(`/api/sentences/${sentence.key}/actions`, {
        method: 'POST',
        body: JSON.stringify({ version: ui.state.version, action }),
      });
      if (ui.sentence !== sentence) return;
      ui.state = res.state;
      ui.counts = res.counts;
      ui.conflict = false;
      showMessage('');
      if (after) after(res.state);
      render();
    } catch (err) {
      showMessage(err.message);
      if (err.status === 409) {
        // changed in another tab or process: this change was NOT saved; show what the store holds now
        ui.conflict = true;
        const fresh = await api(`/api/sentences/${sentence.key}`);
        if (ui.sentence === sentence) ui.state = fresh.state;
        render();
      }
      if (err.status !== 422 && err.status !== 409) throw err;
    }
  });
  ui.chain = ui.chain.then(
    () => {
      if (--ui.inflight > 0) return;
      if (ui.conflict) setSave('conflict', 'NOT SAVED: changed elsewhere; now showing the saved version');
      else setSave('saved', `saved ✓ ${new Date().toLocaleTimeString()}`);
    },
    (err) => {
      ui.inflight--;
      setSave('error', `NOT SAVED: ${err.message}`);
    },
  );
  return ui.chain;
}

function moveBoundary(which, delta) {
  const id = ui.focus;
  if (id === null) return showMessage('no entity focused: press Tab, or h/l to move the cursor onto one');
  act(
    (state) => {
      const s = state.spans.find((x) => x.id === id);
      if (!s) return null;
      const start = which === 'start' ? s.start + delta : s.start;
      const end = which === 'end' ? s.end + delta : s.end;
      return { type: 'set-span', span: id, start, end };
    },
    (state) => {
      const s = state.spans.find((x) => x.id === id);
      if (s) ui.cursor = which === 'start' ? s.start : s.end - 1;
    },
  );
}

function setLabel(label) {
  ui.lastLabel = label;
  const id = ui.focus;
  if (id !== null) {
    act(() => ({ type: 'set-label', span: id, label }));
    return;
  }
  const [start, last] = ui.selection ?? [ui.cursor, ui.cursor];
  const at = start;
  ui.selection = null;
  act(
    () => ({ type: 'add-entity', start, end: last + 1, label }),
    (state) => {
      const s = spanAt(state.spans, at);
      if (s) ui.focus = s.id;
    },
  );
}

async function acceptSentence() {
  await act(() => ({ type: 'accept-sentence' }));
  if (ui.state.status !== 'done') return;
  ui.queue[ui.index].status = 'done';
  // next unreviewed sentence after this one (wrapping round)
  for (let k = 1; k <= ui.queue.length; k++) {
    const j = (ui.index + k) % ui.queue.length;
    if (ui.queue[j].status !== 'done') return go(j);
  }
  showMessage('every sentence is reviewed: export with the links at the top, or `nerd review --export`');
}

// ---- keys ------------------------------------------------------------------------------------------

document.addEventListener('keydown', (e) => {
  if (!ui.sentence || e.altKey || e.metaKey) return;
  if (e.ctrlKey && e.key !== 'z') return;
  const types = ui.meta.types;
  const f = focused();
  let handled = true;
  switch (e.key) {
    case 'j':
    case 'ArrowDown':
      void go(ui.index + 1);
      break;
    case 'k':
    case 'ArrowUp':
      void go(ui.index - 1);
      break;
    case 'Tab':
      focusNext(e.shiftKey ? -1 : 1);
      break;
    case 'h':
      moveCursor(ui.cursor - 1);
      break;
    case 'l':
      moveCursor(ui.cursor + 1);
      break;
    case 'H':
    case 'L': {
      // extend a selection from the cursor, one token at a time
      const anchor = ui.selection ? (ui.cursor === ui.selection[1] ? ui.selection[0] : ui.selection[1]) : ui.cursor;
      select(anchor, Math.max(0, Math.min(ui.sentence.tokens.length - 1, ui.cursor + (e.key === 'L' ? 1 : -1))));
      break;
    }
    case 'Escape':
      ui.selection = null;
      render();
      break;
    case 'ArrowLeft':
      moveBoundary(e.shiftKey ? 'end' : 'start', -1);
      break;
    case 'ArrowRight':
      moveBoundary(e.shiftKey ? 'end' : 'start', +1);
      break;
    case 'a':
      if (f) act(() => ({ type: 'accept-entity', span: f.id }));
      break;
    case 'x':
    case 'Delete':
    case 'Backspace':
      if (f) {
        act(() => ({ type: 'reject-entity', span: f.id }));
        ui.focus = null;
      }
      break;
    case 't':
      if (f) setLabel(types[(types.indexOf(f.label) + 1) % types.length]);
      break;
    case 'n':
      if (ui.selection || !spanAt(ui.state.spans, ui.cursor)) {
        ui.focus = null;
        setLabel(ui.lastLabel ?? types[0]);
      }
      break;
    case 'Enter':
      void acceptSentence();
      break;
    case 'o':
      act(() => ({ type: 'reopen' }));
      break;
    case 's':
      if (ui.sentence.student)
        act(
          () => ({ type: 'use-student' }),
          () => (ui.focus = null),
        );
      break;
    case 'u':
    case 'z':
      if (e.key === 'z' && !e.ctrlKey) {
        handled = false;
        break;
      }
      act(
        () => ({ type: 'undo' }),
        (state) => {
          if (!state.spans.some((s) => s.id === ui.focus)) ui.focus = null;
        },
      );
      break;
    case '?':
      $('#help').hidden = !$('#help').hidden;
      break;
    default:
      if (/^[1-9]$/.test(e.key) && Number(e.key) <= types.length) setLabel(types[Number(e.key) - 1]);
      else handled = false;
  }
  if (handled) e.preventDefault();
});

// with a bearer token a plain link cannot authenticate: fetch the export and hand it over as a download
for (const a of document.querySelectorAll('#export-jsonl, #export-conll')) {
  a.addEventListener('click', async (e) => {
    if (!token) return;
    e.preventDefault();
    const res = await fetch(a.getAttribute('href'), { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) return showMessage(`export failed: HTTP ${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = a.id === 'export-conll' ? 'reviewed.conll' : 'reviewed.jsonl';
    link.click();
    URL.revokeObjectURL(url);
  });
}

$('#help-button').addEventListener('click', () => {
  $('#help').hidden = !$('#help').hidden;
});

window.addEventListener('beforeunload', (e) => {
  if (ui.inflight > 0) e.preventDefault();
});

// ---- start -----------------------------------------------------------------------------------------

async function start() {
  ui.meta = await api('/api/meta');
  $('#title').textContent = ui.meta.title;
  document.title = `nerd review · ${ui.meta.title}`;
  renderLegend();
  const { queue, counts } = await api('/api/queue');
  ui.queue = queue;
  ui.counts = counts;
  if (queue.length === 0) return showMessage('no sentences to review');
  const want = hashParams().get('id');
  let at = want ? queue.findIndex((q) => q.id === want) : -1;
  if (at < 0)
    at = Math.max(
      0,
      queue.findIndex((q) => q.status !== 'done'),
    );
  await go(at);
  document.body.dataset.ready = 'true';
}

start().catch((err) => {
  showMessage(`could not load: ${err.message}`);
  setSave('error', 'not connected');
});
