// Fuzz: mutate every example (delete / insert / swap / duplicate characters and tokens) and check
// that each run ends in a model or in diagnostics that point inside the file, never a crash,
// an internal error, or a hang. Fixed seed; iteration counts sized for a 2-core CI machine.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkSpec } from '../../compiler/check/index.ts';
import { specLexer } from '../../compiler/language/tokens.ts';
import { EXAMPLES, INVALID, listRf, rng } from './helpers.ts';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 2000);
const SNIPPETS = ['(', ')', '{', '}', '[', ']', ',', '=', '->', '..', '"', '/*', '*/', '//', 'repeat i in 0..3 {', 'lora', 'tied', 'frozen', 'as', '0', '-1', '1e400', '99999999999999999999', 'x', 'model', '\u0000', '\uffff', '\n', ' / 0', ' * 9007199254740991'];

function mutate(text: string, tokens: { start: number; end: number }[], r: () => number): string {
  const pick = (n: number) => Math.floor(r() * n);
  let t = text;
  const rounds = 1 + pick(3);
  for (let k = 0; k < rounds; k++) {
    const pos = pick(t.length + 1);
    switch (pick(7)) {
      case 0: // delete a character
        t = t.slice(0, pos) + t.slice(pos + 1);
        break;
      case 1: // insert a random character (printable or not)
        t = t.slice(0, pos) + String.fromCharCode(r() < 0.8 ? 32 + pick(95) : pick(0x3000)) + t.slice(pos);
        break;
      case 2: // swap two characters
        if (pos + 1 < t.length) t = t.slice(0, pos) + t[pos + 1] + t[pos] + t.slice(pos + 2);
        break;
      case 3: // insert a grammar snippet
        t = t.slice(0, pos) + SNIPPETS[pick(SNIPPETS.length)] + t.slice(pos);
        break;
      case 4: // delete a token (offsets of the original text; harmless if stale)
      case 5: {
        const tok = tokens[pick(tokens.length)];
        if (tok && tok.end <= t.length) t = t.slice(0, tok.start) + t.slice(tok.end);
        break;
      }
      case 6: {
        // swap two tokens
        const a = tokens[pick(tokens.length)];
        const b = tokens[pick(tokens.length)];
        if (a && b && a.end <= b.start && b.end <= t.length) t = t.slice(0, a.start) + t.slice(b.start, b.end) + t.slice(a.end, b.start) + t.slice(a.start, a.end) + t.slice(b.end);
        break;
      }
    }
  }
  return t;
}

function lineCount(t: string): number {
  let n = 1;
  for (let i = t.indexOf('\n'); i !== -1; i = t.indexOf('\n', i + 1)) n++;
  return n;
}

describe('fuzzing the examples', () => {
  const files = [...listRf(EXAMPLES), ...listRf(INVALID).filter((f) => /syntax|names|lora-targets/.test(f))];
  files.forEach((file, fi) => {
    it(`${file.slice(EXAMPLES.length + 1)} survives ${ITERATIONS} mutations`, () => {
      const text = readFileSync(file, 'utf8');
      const tokens = specLexer.tokenize(text).tokens.map((t) => ({ start: t.startOffset, end: t.endOffset! + 1 }));
      const r = rng(0x5eed + fi);
      const started = Date.now();
      let ok = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const m = mutate(text, tokens, r);
        const res = checkSpec(m, 'f.rf');
        const lines = lineCount(m);
        if (res.model) {
          ok++;
          expect(res.diagnostics).toEqual([]);
          continue;
        }
        expect(res.diagnostics.length, m).toBeGreaterThan(0);
        for (const d of res.diagnostics) {
          expect(d.code, `${d.code} ${d.message}\n--- input ---\n${m}`).not.toBe('E0901');
          expect(d.line >= 1 && d.line <= lines, `line ${d.line} of ${lines}: ${d.message}`).toBe(true);
          const len = m.split('\n')[d.line - 1]!.length;
          expect(d.col >= 1 && d.col <= len + 1, `col ${d.col} on a line of ${len}: ${d.message}`).toBe(true);
        }
      }
      // Some mutations land in comments or are otherwise harmless; most should not.
      expect(ok).toBeLessThan(ITERATIONS);
      expect(Date.now() - started).toBeLessThan(20_000);
    });
  });
});
