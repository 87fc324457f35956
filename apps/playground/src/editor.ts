// The spec editor: a textarea over a backdrop that repeats its text with each diagnostic's span
// underlined. Every edit is checked (debounced); the diagnostics are printed exactly as
// `rankfold check` prints them (file:line:col: error[CODE], excerpt, caret), and a valid spec
// shows its parameter summary and its compiled graph and memory plan.
import { checkText, compiledView, trainShape, SPEC_FILE, type CheckedModel, type Diagnostic } from './engine.ts';
import { byId, escapeHtml } from './dom.ts';

export interface EditorEvents {
  /** The spec in the editor checked clean (a model) or not (undefined). */
  onModel(model: CheckedModel | undefined): void;
}

const DEBOUNCE_MS = 200;

/** Splits text into lines keeping offsets, so a diagnostic's line:col becomes a character range. */
function spanOf(text: string, d: Diagnostic): [number, number] {
  const lines = text.split('\n');
  let start = 0;
  for (let i = 0; i < d.line - 1 && i < lines.length; i++) start += lines[i]!.length + 1;
  const line = lines[d.line - 1] ?? '';
  const from = start + Math.min(d.col - 1, line.length);
  // No end column: underline the rest of the word (at least one character, or the line's end).
  let to = d.endCol !== undefined ? start + Math.min(d.endCol - 1, line.length) : from + (/^\w+/.exec(line.slice(d.col - 1))?.[0].length ?? 1);
  if (to <= from) to = Math.min(from + 1, start + line.length + 1);
  return [from, to];
}

/** The backdrop's HTML: the text with the diagnostics' ranges in <mark>s (overlaps merged). */
export function markedHtml(text: string, diagnostics: Diagnostic[]): string {
  const ranges = diagnostics.map((d) => spanOf(text, d)).sort((a, b) => a[0] - b[0]);
  let html = '';
  let at = 0;
  for (const [from, to] of ranges) {
    if (to <= at) continue;
    const s = Math.max(from, at);
    html += escapeHtml(text.slice(at, s));
    // A mark on a newline alone would be invisible: mark one space instead.
    const marked = text.slice(s, to);
    html += `<mark title="error">${marked === '\n' || marked === '' ? ' ' : escapeHtml(marked)}</mark>`;
    if (marked === '\n') html += '\n';
    at = to;
  }
  // A trailing newline in a <pre> collapses; keep the backdrop as tall as the textarea's text.
  return html + escapeHtml(text.slice(at)) + '\n';
}

export class SpecEditor {
  private readonly textarea = byId<HTMLTextAreaElement>('spec-text');
  private readonly backdrop = byId<HTMLPreElement>('spec-backdrop');
  private readonly diagnostics = byId<HTMLPreElement>('diagnostics');
  private readonly mode = byId<HTMLSelectElement>('compile-mode');
  private timer: ReturnType<typeof setTimeout> | undefined;
  model: CheckedModel | undefined;

  constructor(
    text: string,
    private readonly events: EditorEvents,
  ) {
    this.textarea.value = text;
    this.textarea.addEventListener('input', () => this.schedule());
    this.textarea.addEventListener('scroll', () => {
      this.backdrop.scrollTop = this.textarea.scrollTop;
      this.backdrop.scrollLeft = this.textarea.scrollLeft;
    });
    this.textarea.addEventListener('keydown', (e) => {
      if (e.key !== 'Tab') return;
      e.preventDefault();
      this.textarea.setRangeText('  ', this.textarea.selectionStart, this.textarea.selectionEnd, 'end');
      this.schedule();
    });
    this.mode.addEventListener('change', () => this.showCompiled());
    this.diagnostics.addEventListener('click', (e) => {
      const loc = (e.target as HTMLElement).closest<HTMLElement>('.loc');
      if (loc) this.goTo(Number(loc.dataset.line), Number(loc.dataset.col));
    });
    this.check();
  }

  get text(): string {
    return this.textarea.value;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), DEBOUNCE_MS);
  }

  /** Checks the text now; the page (and the browser test) sees the result in #diagnostics. */
  check(): void {
    const text = this.textarea.value;
    const result = checkText(text, SPEC_FILE);
    this.backdrop.innerHTML = markedHtml(text, result.diagnostics);
    this.backdrop.scrollTop = this.textarea.scrollTop;
    this.model = result.model;
    if (result.model) {
      this.diagnostics.className = 'diagnostics';
      this.diagnostics.textContent = `${SPEC_FILE}: no errors\n\n${result.formatted}`;
    } else {
      this.diagnostics.className = 'diagnostics error';
      // The CLI's text, with each "file:line:col" made a link to that place in the editor.
      const locs = new Map(result.diagnostics.map((d) => [`${d.file}:${d.line}:${d.col}`, d]));
      this.diagnostics.innerHTML = escapeHtml(result.formatted).replace(/^(\S+?):(\d+):(\d+)(?=: )/gm, (m, _f, line: string, col: string) =>
        locs.has(m) ? `<span class="loc" data-line="${line}" data-col="${col}">${m}</span>` : m,
      );
    }
    this.diagnostics.dataset.count = String(result.diagnostics.length);
    this.showCompiled();
    this.events.onModel(result.model);
  }

  private showCompiled(): void {
    const plan = byId<HTMLPreElement>('plan');
    const ir = byId<HTMLPreElement>('ir');
    const shape = byId('compile-shape');
    if (!this.model) {
      plan.textContent = 'The spec has errors: nothing to compile.';
      ir.textContent = '';
      shape.textContent = '';
      return;
    }
    const { batch, seq } = trainShape(this.model);
    try {
      const view = compiledView(this.model, this.mode.value === 'eval' ? 'eval' : 'train', batch, seq);
      shape.textContent = `batch ${batch}, seq ${seq} (what step 3 trains); as rankfold compile --batch ${batch} --seq ${seq} --emit plan / ir print them`;
      plan.textContent = view.plan;
      ir.textContent = view.ir;
      byId('ir-summary').textContent = `IR: ${view.nodes} nodes`;
    } catch (err) {
      plan.textContent = `compile failed: ${(err as Error).message}`;
      ir.textContent = '';
    }
  }

  private goTo(line: number, col: number): void {
    const lines = this.textarea.value.split('\n');
    let at = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i]!.length + 1;
    at += col - 1;
    this.textarea.focus();
    this.textarea.setSelectionRange(at, at + 1);
    const lineHeight = parseFloat(getComputedStyle(this.textarea).lineHeight) || 18;
    this.textarea.scrollTop = Math.max(0, (line - 5) * lineHeight);
  }
}
