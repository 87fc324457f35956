// Parser tests: the AST the front end builds, and syntax errors with their locations.
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../../compiler/language/index.ts';
import type { AssignStmt, Binary, Call, ModelDecl } from '../../../compiler/language/ast.ts';
import { errors, printed } from './helpers.ts';

function body(src: string): ModelDecl {
  const r = parseSpec(src, 't.rf');
  expect(r.diagnostics).toEqual([]);
  return r.spec!.decls[0] as ModelDecl;
}

describe('parser', () => {
  it('builds a typed AST with locations', () => {
    const m = body('model m(d: int = 4, eps: float = 1e-5,) {\n  y = a + b * -c\n}');
    expect(m.params.map((p) => [p.name.name, p.type])).toEqual([['d', 'int'], ['eps', 'float']]);
    const s = m.body[0] as AssignStmt;
    const add = s.value as Binary;
    expect(add.op).toBe('+');
    expect((add.right as Binary).op).toBe('*');
    expect(add.opLoc).toEqual({ line: 2, col: 9, endLine: 2, endCol: 10 });
    expect(s.loc).toMatchObject({ line: 2, col: 3 });
  });

  it('parses layer calls with module names and modifiers', () => {
    const m = body('model m { x = linear(h, d -> 2 * d, bias = false) as "a.{i}.q" frozen lora(rank = 4) tied "e" when t }');
    const c = (m.body[0] as AssignStmt).value as Call;
    expect(c.callee.name).toBe('linear');
    expect(c.args[1]!.to).toBeDefined();
    expect(c.args[2]!.name!.name).toBe('bias');
    expect(c.module!.value).toBe('a.{i}.q');
    expect(c.modifiers.map((x) => x.kind)).toEqual(['Frozen', 'Lora', 'Tied']);
  });

  it('parses lora and train declarations', () => {
    const r = parseSpec('model m {}\nlora targets ["q", "v",] (rank = 4) { override "q" (rank = 2) }\nlora targets all-linear\nlora targets regex "a\\.b"\ntrain { steps = 3; data = "x" }', 't.rf');
    expect(r.diagnostics).toEqual([]);
    expect(r.spec!.decls.map((d) => d.kind)).toEqual(['Model', 'LoraDecl', 'LoraDecl', 'LoraDecl', 'Train']);
    const re = r.spec!.decls[3]!;
    expect(re.kind === 'LoraDecl' && re.target.kind === 'Regex' && re.target.pattern.value).toBe('a\\.b');
  });

  it('reports several syntax errors with recovery', () => {
    expect(errors('model m {\n  x = (1 +\n  y = 2\n}\ntrain { a = }\n')).toEqual([
      "3:5 E0201 expected ')' but found '='",
      "5:13 E0201 expected an expression but found '}'",
    ]);
  });

  it('points at the end of file for a missing brace', () => {
    expect(errors('model m {\n  input ids: tokens\n')).toEqual(["2:20 E0201 expected '}' but found end of file"]);
  });

  it('rejects junk at the top level', () => {
    expect(errors('x = 1')[0]).toMatch(/^1:1 E0201 unexpected 'x'; expected 'model', 'lora targets', 'lora trainable' or 'train'/);
  });

  it('prints a caret under the offending span', () => {
    expect(printed('model m { x = 1 @ }')).toBe("t.rf:1:17: error[E0101]: unexpected character '@'\n1 | model m { x = 1 @ }\n  |                 ^\n1 error\n");
  });

  it('lexes keywords as names when longer (input vs in, int)', () => {
    const m = body('model m(inputs: int = 1, interval: int = 2) { input ids: tokens }');
    expect(m.params.map((p) => p.name.name)).toEqual(['inputs', 'interval']);
  });

  it('reports unterminated strings and comments', () => {
    expect(errors('model m { x = "abc\n}')[0]).toMatch(/^1:15 E0102/);
    expect(errors('model m { /* never closed\n}')[0]).toMatch(/^1:11 E0103/);
  });
});
