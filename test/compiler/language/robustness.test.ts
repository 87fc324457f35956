// Hostile inputs end in diagnostics, in bounded time: binary data, 10 MB files, deep nesting, long
// operator chains, huge repeats and dimensions, unknown names everywhere.
import { describe, expect, it } from 'vitest';
import { checkSpec, formatDiagnostics } from '../../../compiler/check/index.ts';
import { MAX_DIAGNOSTICS } from '../../../compiler/language/index.ts';
import { errors, rng, tiny } from './helpers.ts';

// "Not a hang" is a test timeout (minutes), not a timing assertion: a slow or loaded machine must not fail
// these, an unbounded parse must. Speed is a benchmark's business.
const HANG = 180_000;

describe('robustness', () => {
  it('an empty file says there is no model', () => {
    expect(errors('')).toEqual(["1:1 E0306 the spec has no model: start with 'model name(...) { ... }'"]);
    expect(errors('  \n// only a comment\n')[0]).toMatch(/E0306/);
  });

  it('binary data gives capped lexical errors with printable excerpts', () => {
    const r = rng(1);
    let s = '';
    for (let i = 0; i < 200_000; i++) s += String.fromCharCode(Math.floor(r() * 256));
    const res = checkSpec(s, 'bin.rf');
    expect(res.diagnostics.length).toBeLessThanOrEqual(MAX_DIAGNOSTICS + 1);
    const out = formatDiagnostics(res.diagnostics, res.source);
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  }, HANG);

  it('a 10 MB valid-looking file checks', () => {
    const line = '  // padding comment line to make the file large enough for the test\n';
    const body = line.repeat(Math.ceil(10_000_000 / line.length));
    const text = tiny(body + '  output x');
    expect(text.length).toBeGreaterThan(10_000_000);
    const res = checkSpec(text, 'big.rf');
    expect(res.diagnostics).toEqual([]);
  }, HANG);

  it('a 10 MB file of statements ends in diagnostics, not a hang', () => {
    const stmt = 'y = x + x\n';
    const text = tiny(stmt.repeat(Math.ceil(10_000_000 / stmt.length)) + 'output y');
    const res = checkSpec(text, 'big.rf');
    expect(res.diagnostics[0]?.code).toBe('E0001');
  }, HANG);

  it('a 10 MB single line is excerpted, not printed whole', () => {
    const text = 'model m { x = ' + '1 + '.repeat(2_500_000) + '@ }';
    const res = checkSpec(text, 'line.rf');
    const out = formatDiagnostics(res.diagnostics, res.source);
    expect(out.length).toBeLessThan(2000);
    expect(out).toMatch(/E0001/);
  }, HANG);

  it('deep bracket nesting is capped with E0106', () => {
    const text = tiny(`  y = ${'('.repeat(10_000)}1${')'.repeat(10_000)}\n  output x`);
    expect(errors(text)[0]).toMatch(/^4:\d+ E0106 brackets nested deeper than 64 levels$/);
    const braces = `model m { ${'repeat i in 0..1 { '.repeat(5000)} }`;
    expect(errors(braces)[0]).toMatch(/E0106/);
  });

  it('long operator chains and unary chains are capped with E0106', () => {
    expect(errors(tiny(`  y = ${'x + '.repeat(20_000)}x\n  output y`))[0]).toMatch(/E0106 expression nested deeper/);
    expect(errors(tiny(`  y = ${'-'.repeat(50_000)}x\n  output y`))[0]).toMatch(/E0106/);
  });

  it('huge repeats and dimensions are refused', () => {
    expect(errors(tiny('  repeat i in 0..1000000000 { x = x + x }\n  output x'))[0]).toMatch(/E0407 repeat runs 1000000000 times/);
    expect(errors(tiny('  repeat i in 0..100000 { repeat j in 0..100000 { x = x + x } }\n  output x'))[0]).toMatch(/E0407/);
    expect(errors(tiny('  y = linear(x, d -> 4000000000) as "p"\n  output y'))[0]).toMatch(/E0404 'dims' must be from 1 to 2\^30/);
    expect(errors(tiny('  y = linear(x, d -> d) as "p"\n  output y', 'd: int = 1073741824'))[0]).toMatch(/E0402 weight 'p.weight'/);
  });

  it('integer literals beyond 2^53 are E0105', () => {
    expect(errors(tiny('  output x', 'd: int = 123456789012345678901234567890'))[0]).toMatch(/E0105/);
  });
});
