// compile(): the stages in order, stopping after any of them, the same program from text or from a
// checked model, diagnostics carried by the error, and the target's choices in the kernels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSpec, formatDiagnostics } from '../../compiler/check/index.ts';
import { autodiff, check, compile, compileGraph, elaborate, emit, lower, optimizer, parse, passes, plan, STAGES } from '../../compiler/compile.ts';
import { formatWgsl } from '../../compiler/emit/index.ts';
import { CompileError, UserError } from '../../compiler/errors.ts';
import { GraphBuilder } from '../../compiler/ir/builder.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { makeTarget } from '../../compiler/target.ts';
import { EXAMPLES_DIR } from '../../runtime/model/load-spec.ts';

const FILE = join(EXAMPLES_DIR, 'char-gpt.rf');
const TEXT = readFileSync(FILE, 'utf8');
const TINY = { overrides: { ctx: 64, d: 16, layers: 1, heads: 2 } };
const SHAPE = { mode: 'train', batch: 2, seq: 8 } as const;

describe('compile', () => {
  it('names its stages in pipeline order', () => {
    expect(STAGES).toEqual(['parse', 'check', 'elaborate', 'lower', 'split', 'autodiff', 'optimizer', 'passes', 'plan', 'emit']);
  });

  it('stops after each stage with what that stage made', () => {
    const source = { text: TEXT, file: FILE };
    const parsed = compile(source, { ...TINY, stopAfter: 'parse' });
    expect(parsed.stage).toBe('parse');
    expect(parsed.ast?.decls.some((d) => d.kind === 'Model')).toBe(true);
    expect(compile(source, { ...TINY, stopAfter: 'check' }).decl?.name.name).toBe('char_gpt');
    const model = compile(source, { ...TINY, stopAfter: 'elaborate' }).model;
    expect(model.params['d']).toBe(16);
    const lowered = compile(source, { ...TINY, ...SHAPE, stopAfter: 'lower' }).graph;
    expect(Object.keys(lowered.grads)).toHaveLength(0);
    const differentiated = compile(source, { ...TINY, ...SHAPE, stopAfter: 'autodiff' }).graph;
    expect(Object.keys(differentiated.grads).length).toBeGreaterThan(0);
    expect(differentiated.nodes.some((n) => n.op === 'adamw')).toBe(false);
    expect(compile(source, { ...TINY, ...SHAPE, stopAfter: 'optimizer' }).graph.nodes.some((n) => n.op === 'adamw')).toBe(true);
    const planned = compile(source, { ...TINY, ...SHAPE, stopAfter: 'plan' });
    expect(planned.plan.schedule).toHaveLength(planned.graph.nodes.length);
    expect('kernels' in planned).toBe(false);
    const program = compile(source, { ...TINY, ...SHAPE });
    expect(program.kernels).toHaveLength(program.graph.nodes.length);
    expect(program.source?.file).toBe(FILE);
  });

  it('composes its stage functions: the same graph from text, a checked model or the stages by hand', () => {
    const source = { text: TEXT, file: FILE };
    const fromText = compile(source, { ...TINY, ...SHAPE });
    const model = elaborate(check(parse(source)), TINY);
    const fromModel = compile(model, SHAPE);
    const byHand = passes(optimizer(autodiff(lower(model, SHAPE))));
    expect(printGraph(fromModel.graph)).toBe(printGraph(fromText.graph));
    expect(printGraph(byHand)).toBe(printGraph(fromText.graph));
    expect(plan(byHand).totals).toEqual(fromText.plan.totals);
    expect(formatWgsl(byHand, emit(byHand))).toBe(formatWgsl(fromText.graph, fromText.kernels));
    // eval and decode graphs have no backward part; decode keeps a KV cache of cacheLen positions.
    expect(compile(model, { mode: 'eval', batch: 1, seq: 8 }).graph.grads).toEqual({});
    const decode = compile(model, { mode: 'decode', batch: 1, seq: 1, cacheLen: 12 }).graph;
    expect(decode.nodes.some((n) => n.op === 'cache_update' && n.type.shape[1] === 12)).toBe(true);
  });

  it('throws a CompileError carrying the diagnostics, formatted as rankfold check prints them', () => {
    const text = 'model m() {\n  input ids: tokens\n  y = nope(ids)\n  output y\n}\n';
    const expected = checkSpec(text, 'bad.rf');
    expect(expected.diagnostics.length).toBeGreaterThan(0);
    let caught: unknown;
    try {
      compile({ text, file: 'bad.rf' }, { stopAfter: 'elaborate' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CompileError);
    expect(caught).toBeInstanceOf(UserError);
    const err = caught as CompileError;
    expect(err.diagnostics).toEqual(expected.diagnostics);
    expect(err.message).toBe(formatDiagnostics(expected.diagnostics, expected.source).trimEnd());
    expect(err.message).toMatch(/^bad\.rf:3:7: /);
    // A syntax error stops at parse, with the same formatting.
    expect(() => compile({ text: 'model {', file: 'x.rf' }, { stopAfter: 'parse' })).toThrow(/^x\.rf:1:/);
  });

  it('refuses options it cannot compile with, by name', () => {
    const model = elaborate(check(parse({ text: TEXT, file: FILE })), TINY);
    expect(() => compile(model, { mode: 'train', batch: 2 })).toThrow(/mode, batch and seq are needed/);
    expect(() => compile(model, { ...SHAPE, batch: 0 })).toThrow(/batch must be a positive integer/);
    expect(() => compile(model, { ...SHAPE, stopAfter: 'link' as never })).toThrow(/stopAfter must be one of parse, check/);
    const noLoss = { ...model, outputs: [] };
    expect(() => compile(noLoss, SHAPE)).toThrow(/has no loss to train/);
  });

  it('emits for the Target it is given: GEMM form by kind, or forced', () => {
    const b = new GraphBuilder();
    b.output('c', b.matmul(b.input('a', 'f32', [64, 32]), b.param('w', [32, 16], 'frozen'), false));
    const key = (target: ReturnType<typeof makeTarget>) => compileGraph(b.graph, { target }).kernels.flatMap((k) => k?.launches.map((l) => l.key) ?? []);
    expect(key(makeTarget('gpu'))).toEqual(['matmul:vA:vB']);
    expect(key(makeTarget('cpu'))[0]).toMatch(/^matmul:reg:r4c1x4:/);
    expect(key(makeTarget('cpu', { gemm: 'r8c1' }))[0]).toMatch(/^matmul:reg:r8c1:/);
    expect(key(makeTarget('gpu', { gemm: 'register' }))[0]).toMatch(/^matmul:reg:/);
    expect(key(makeTarget('cpu', { gemm: 'tiled' }))).toEqual(['matmul:vA:vB']);
    expect(() => makeTarget('cpu', { gemm: 'r9' as never })).toThrow(/gemm must be one of auto, tiled, register, r4c1/);
    expect(() => makeTarget('cpu', { limits: { maxBufferSize: -1 } })).toThrow(/maxBufferSize must be a positive integer/);
  });

  it('compileGraph plans with or without buffer reuse', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [4]);
    b.output('y', b.scale(b.scale(b.scale(b.scale(x, 2), 3), 4), 5));
    const shared = compileGraph(b.graph);
    const own = compileGraph(b.graph, { reuseBuffers: false });
    expect(new Set(own.plan.assignment.values()).size).toBe(b.graph.nodes.length);
    expect(new Set(shared.plan.assignment.values()).size).toBeLessThan(b.graph.nodes.length);
    expect(own.kernels[0]).toBeUndefined(); // a leaf runs no kernel
  });
});
