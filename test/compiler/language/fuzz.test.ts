// Fuzz: mutate every example (delete / insert / swap / duplicate characters and tokens) and check
// that each run ends in a model or in diagnostics that point inside the file, never a crash,
// an internal error, or a hang. Fixed seed; iteration counts sized for a 2-core CI machine.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkSpec } from '../../../compiler/check/index.ts';
import { specLexer } from '../../../compiler/language/tokens.ts';
import { mutate } from './fuzz-mutate.ts';
import { EXAMPLES, INVALID, listRf, rng } from './helpers.ts';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 2000);

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
      // Two layers instead of 96 keep a run in milliseconds; unrolling is tested elsewhere.
      const opts = /\blayers: int/.test(text) ? { overrides: { layers: 2 } } : {};
      let ok = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const m = mutate(text, tokens, r);
        const res = checkSpec(m, 'f.rf', opts);
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
    }, 180_000); // a hang fails; a slow machine does not (speed is a benchmark's business)
  });
});
