// Golden tests: every invalid example's diagnostics equal its .expected file (UPDATE_GOLDEN=1
// rewrites them), and every valid example checks cleanly.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatDiagnostics } from '../../../compiler/check/index.ts';
import { checkFile, EXAMPLES, INVALID, listRf } from './helpers.ts';

describe('invalid examples match their golden diagnostics', () => {
  for (const file of listRf(INVALID)) {
    it(file.slice(INVALID.length + 1), () => {
      const r = checkFile(file);
      expect(r.model).toBeUndefined();
      expect(r.diagnostics.length).toBeGreaterThan(0);
      expect(r.diagnostics.every((d) => d.code !== 'E0901')).toBe(true);
      const out = formatDiagnostics(r.diagnostics, r.source);
      const expected = file.replace(/\.rf$/, '.expected');
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expected, out);
      expect(existsSync(expected), `${expected} is missing; run with UPDATE_GOLDEN=1`).toBe(true);
      expect(out).toBe(readFileSync(expected, 'utf8'));
    });
  }
});

describe('valid examples check cleanly', () => {
  for (const file of listRf(EXAMPLES)) {
    it(file.slice(EXAMPLES.length + 1), () => {
      const r = checkFile(file);
      expect(formatDiagnostics(r.diagnostics, r.source)).toBe('0 errors\n');
      expect(r.model).toBeDefined();
    });
  }
});
