// The front end's entry point: text -> tokens -> CST -> AST, collecting diagnostics at each step.
// It never throws on user input: lexer problems, nesting beyond the cap and syntax errors all come
// back as diagnostics, and an AST is returned only when the text parsed cleanly.
import type { IToken } from 'chevrotain';
import type { Spec } from './ast.ts';
import { cstToAst, tokenLoc } from './cst-to-ast.ts';
import { diag, quote, sortDiagnostics, type Diagnostic } from './diagnostics.ts';
import { describeToken, parseTokens, specParser } from './parser.ts';
import { Source } from './source.ts';
import * as T from './tokens.ts';

/** Larger inputs are refused up front (E0001): specs are a few kilobytes. */
export const MAX_SOURCE_BYTES = 16 * 1024 * 1024;
/** Deepest bracket nesting accepted; beyond it the parser's recursion could overflow. */
export const MAX_NESTING = 64;
/**
 * Most tokens parsed. Real specs have hundreds; the cap bounds the parser's memory (its syntax
 * tree costs far more per token than the text), so a 10 MB file of statements is refused early.
 */
export const MAX_TOKENS = 100_000;
/** Per phase; the rest are summarized by one E0299. */
export const MAX_DIAGNOSTICS = 50;

export interface ParseResult {
  spec?: Spec;
  diagnostics: Diagnostic[];
  source: Source;
}

function capDiagnostics(diags: Diagnostic[], file: string): Diagnostic[] {
  if (diags.length <= MAX_DIAGNOSTICS) return diags;
  const kept = diags.slice(0, MAX_DIAGNOSTICS);
  const next = diags[MAX_DIAGNOSTICS]!;
  kept.push({ code: 'E0299', message: `too many errors; ${diags.length - MAX_DIAGNOSTICS} more not shown`, file, line: next.line, col: next.col });
  return kept;
}

// Names and numbers count as one token, any other visible character as one; comments, strings
// and spaces are skipped. A regular expression rather than a charCodeAt loop: the regex engine
// flattens concatenated strings once, where a loop can stay slow on them.
const ROUGH_TOKEN = /\s+|\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|"[^"\n]*"?|[A-Za-z0-9_][A-Za-z0-9_.]*|[^]/gy;

/** A cheap over-estimate of the token count: returns the offset where `cap` is passed, or -1. */
function tokenLimitOffset(text: string, cap: number): number {
  if (text.length < cap) return -1;
  ROUGH_TOKEN.lastIndex = 0;
  let n = 0;
  for (let m = ROUGH_TOKEN.exec(text); m && m[0].length > 0; m = ROUGH_TOKEN.exec(text)) {
    const c = m[0].charCodeAt(0);
    if (c <= 32 || (c === 47 && (m[0][1] === '/' || m[0][1] === '*'))) continue;
    if (++n > cap) return m.index;
  }
  return -1;
}

export function parseSpec(text: string, file: string): ParseResult {
  const source = new Source(text, file);
  if (text.length > MAX_SOURCE_BYTES) {
    return { source, diagnostics: [{ code: 'E0001', message: `file is ${text.length} characters; the limit is ${MAX_SOURCE_BYTES}`, file, line: 1, col: 1 }] };
  }
  const over = tokenLimitOffset(text, MAX_TOKENS);
  if (over >= 0) {
    const { line, col } = source.position(over);
    return { source, diagnostics: [{ code: 'E0001', message: `file has more than ${MAX_TOKENS} tokens; specs are far smaller`, file, line, col }] };
  }
  const diagnostics: Diagnostic[] = [];
  const lexed = T.specLexer.tokenize(text);
  for (const e of lexed.errors) {
    const ch = text.slice(e.offset, e.offset + Math.min(e.length, 1));
    const col = e.column ?? 1;
    diagnostics.push({
      code: 'E0101',
      message: e.length > 1 ? `unexpected characters starting with ${quote(ch)} (${e.length} characters)` : `unexpected character ${quote(ch)}`,
      file,
      line: e.line ?? 1,
      col,
      endCol: col + Math.max(1, Math.min(e.length, 200)),
    });
  }
  const tokens: IToken[] = [];
  let depth = 0;
  let tooDeep = false;
  for (const t of lexed.tokens) {
    if (t.tokenType === T.UnterminatedString) {
      diagnostics.push(diag('E0102', 'string is not closed before the end of the line', file, tokenLoc(t)));
      continue;
    }
    if (t.tokenType === T.UnterminatedComment) {
      const loc = tokenLoc(t);
      diagnostics.push(diag('E0103', "'/*' comment is not closed", file, { ...loc, endLine: loc.line, endCol: loc.col + 2 }));
      continue;
    }
    const tt = t.tokenType;
    if (tt === T.LParen || tt === T.LBracket || tt === T.LBrace) {
      if (++depth > MAX_NESTING && !tooDeep) {
        tooDeep = true;
        diagnostics.push(diag('E0106', `brackets nested deeper than ${MAX_NESTING} levels`, file, tokenLoc(t)));
      }
    } else if (tt === T.RParen || tt === T.RBracket || tt === T.RBrace) depth = Math.max(0, depth - 1);
    tokens.push(t);
  }
  if (diagnostics.length > 0) return { source, diagnostics: capDiagnostics(sortDiagnostics(diagnostics), file) };

  const cst = parseTokens(tokens);
  for (const e of specParser.errors) {
    const t = e.token;
    let line = t.startLine;
    let col = t.startColumn;
    let endCol: number | undefined = t.endColumn !== undefined ? t.endColumn + 1 : undefined;
    if (line === undefined || !Number.isFinite(line) || col === undefined || !Number.isFinite(col)) {
      // The end-of-file token has no position; point at the file's last character.
      ({ line, col } = source.endPosition());
      endCol = undefined;
      if (describeToken(t) !== 'end of file') endCol = undefined;
    }
    const d: Diagnostic = { code: 'E0201', message: e.message, file, line, col };
    if (endCol !== undefined && endCol > col && t.endLine === line) d.endCol = endCol;
    // Recovery can report the same spot twice; keep the first.
    if (!diagnostics.some((x) => x.line === d.line && x.col === d.col)) diagnostics.push(d);
  }
  if (diagnostics.length > 0) return { source, diagnostics: capDiagnostics(diagnostics, file) };

  const built = cstToAst(cst, file);
  if (built.diagnostics.length > 0) return { source, diagnostics: capDiagnostics(built.diagnostics, file) };
  return { source, spec: built.spec, diagnostics: [] };
}

export { Source } from './source.ts';
export * from './diagnostics.ts';
export type * from './ast.ts';
