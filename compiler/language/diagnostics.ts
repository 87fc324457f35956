// Diagnostics: what went wrong, where, under a stable code. The printer produces
//   file:line:col: error[CODE]: message
//    12 | the source line
//       |     ^^^
// Source excerpts are sanitized (control bytes, very long lines) so any input prints safely.
import type { Source } from './source.ts';

export interface Diagnostic {
  code: string;
  message: string;
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, UTF-16 code units. */
  col: number;
  /** 1-based exclusive end column on the same line, when the span is known. */
  endCol?: number;
}

/** The catalogue of diagnostic codes; spec/language.md documents each with an example. */
export const CODES = {
  E0001: 'input too large',
  E0101: 'unexpected character',
  E0102: 'unterminated string',
  E0103: 'unterminated block comment',
  E0105: 'number literal out of range',
  E0106: 'nesting too deep',
  E0201: 'syntax error',
  E0299: 'too many errors',
  E0301: 'unknown name',
  E0302: 'name used before it is defined',
  E0303: 'duplicate definition',
  E0304: 'unknown function or layer',
  E0305: 'bad arguments',
  E0306: 'bad spec structure',
  E0307: 'bad module name',
  E0308: 'duplicate module name',
  E0309: 'tied target not found',
  E0310: 'modifier not allowed here',
  E0401: 'type mismatch',
  E0402: 'integer overflow or non-finite number',
  E0403: 'division by zero',
  E0404: 'value out of range',
  E0405: 'parameter has no value',
  E0406: 'bad external binding',
  E0407: 'model too large',
  E0408: 'config field not supported',
  E0501: 'shape mismatch',
  E0502: 'bad attention configuration',
  E0503: 'sequence longer than positions',
  E0601: 'LoRA on a layer that is not linear',
  E0602: 'LoRA pattern matches no module',
  E0603: 'LoRA configured twice',
  E0604: 'bad LoRA setting',
  E0605: 'bad regular expression',
  E0701: 'unknown train setting',
  E0702: 'bad train setting',
  E0901: 'internal error',
} as const;

export type DiagnosticCode = keyof typeof CODES;

/** Where a node starts and ends in its file (offsets 0-based, line/col 1-based). */
export interface Loc {
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

export function diag(code: DiagnosticCode, message: string, file: string, loc: Loc): Diagnostic {
  const d: Diagnostic = { code, message, file, line: loc.line, col: loc.col };
  if (loc.endLine === loc.line && loc.endCol > loc.col) d.endCol = loc.endCol;
  return d;
}

/** Shows a string value in a message: quoted, control characters escaped, long ones cut. */
export function quote(s: string, max = 60): string {
  const cut = s.length > max ? s.slice(0, max) + '...' : s;
  return `'${cut.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]|[\ud800-\udfff]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`)}'`;
}

const EXCERPT_WIDTH = 100;

/** Replaces characters that would garble a terminal (or shift the caret) with a single '?'/' '. */
function sanitize(s: string): string {
  return s.replace(/\t/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\ud800-\udfff\ufffd]/g, '?');
}

export function formatDiagnostic(d: Diagnostic, source?: Source): string {
  const head = `${d.file}:${d.line}:${d.col}: error[${d.code}]: ${d.message}`;
  if (!source) return head;
  const text = source.lineText(d.line);
  // Show a window of the line around the column so a 10 MB one-line file prints one short line.
  let start = 0;
  if (text.length > EXCERPT_WIDTH && d.col > EXCERPT_WIDTH / 2) start = Math.min(d.col - 1 - EXCERPT_WIDTH / 2, Math.max(0, text.length - EXCERPT_WIDTH));
  start = Math.max(0, start);
  const end = Math.min(text.length, start + EXCERPT_WIDTH);
  const prefix = start > 0 ? '...' : '';
  const suffix = end < text.length ? '...' : '';
  const excerpt = prefix + sanitize(text.slice(start, end)) + suffix;
  const caretCol = Math.max(0, d.col - 1 - start) + prefix.length;
  const span = d.endCol !== undefined ? Math.max(1, Math.min(d.endCol - d.col, end - (d.col - 1))) : 1;
  const gutter = String(d.line);
  const pad = ' '.repeat(gutter.length);
  return [head, `${gutter} | ${excerpt}`.trimEnd(), `${pad} | ${' '.repeat(caretCol)}${'^'.repeat(span)}`].join('\n');
}

/** Formats a whole run: every diagnostic, then a count line. */
export function formatDiagnostics(diags: readonly Diagnostic[], source?: Source): string {
  const parts = diags.map((d) => formatDiagnostic(d, source));
  parts.push(`${diags.length} error${diags.length === 1 ? '' : 's'}`);
  return parts.join('\n') + '\n';
}

/** Orders diagnostics by position, keeping discovery order for ties. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  return diags
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.line - b.d.line || a.d.col - b.d.col || a.i - b.i)
    .map((x) => x.d);
}
