// Kernels reading 16-bit weights (bf16, and f16 both through shader-f16 and unpacked from u32 bits)
// against the f64 interpreter, which widens the same 16-bit values: both GEMM forms (register and
// tiled) with and without vec4 loads, lowrank_matmul's W, embedding tables (whole and a row chunk)
// and cast. The weight is uploaded as stored bytes (a StoredTensor), as a model file holds it.
import { describe, expect } from 'vitest';
import { gpuTest } from '../../../helpers/gpu.ts';
import { expectClose, f, ids, rand, type Operand } from './op-harness.ts';
import { GraphBuilder } from '../../../../compiler/ir/builder.ts';
import type { OpAttrs, OpName } from '../../../../compiler/ir/ops.ts';
import type { HalfDType, Shape } from '../../../../compiler/ir/types.ts';
import { interpret } from '../../../../compiler/ir/interp.ts';
import { compileGraph } from '../../../../compiler/compile.ts';
import { makeTarget, type TargetKind } from '../../../../compiler/target.ts';
import { GpuProgram } from '../../../../runtime/device/program.ts';
import { targetFor } from '../../../../runtime/device/target.ts';
import { fromFloat32 } from '../../../../runtime/io/dtypes.ts';
import type { GpuContext } from '../../../../runtime/device/device.ts';

interface Variant {
  kind: TargetKind;
  dtype: HalfDType;
  /** f16 through the shader-f16 feature (else unpacked from u32 bits). */
  nativeF16: boolean;
}

const VARIANTS: Variant[] = (['cpu', 'gpu'] as const).flatMap((kind) => [
  { kind, dtype: 'bf16' as const, nativeF16: false },
  { kind, dtype: 'f16' as const, nativeF16: false },
  { kind, dtype: 'f16' as const, nativeF16: true },
]);

const FILE = { bf16: 'BF16', f16: 'F16' } as const;

/**
 * One op whose operand `weightAt` is a 16-bit frozen weight (the others are inputs), run on the GPU
 * with the weight uploaded as stored bytes, and in the interpreter in f64.
 */
async function checkHalf<K extends OpName>(gpu: GpuContext, v: Variant, op: K, attrs: OpAttrs[K], operands: Operand[], weightAt: number, what: string, tol = { rtol: 1e-4, atol: 1e-4 }): Promise<string> {
  const b = new GraphBuilder();
  const w = operands[weightAt]!;
  const ins = operands.map((o, i) => (i === weightAt
    ? b.param('w', o.shape, 'frozen', { dtype: v.dtype })
    : b.input(`x${i}`, o.data instanceof Int32Array ? 'i32' : 'f32', o.shape)));
  b.output('y', b.emit(op, ins, attrs));
  const target = makeTarget(v.kind, { limits: targetFor(gpu).limits, features: { shaderF16: v.nativeF16 } });
  const program = await GpuProgram.create(gpu, compileGraph(b.graph, { target, reuseBuffers: false }));
  const stored = fromFloat32(w.data as Float32Array, FILE[v.dtype], w.shape);
  program.setParam('w', stored);
  operands.forEach((o, i) => i !== weightAt && program.setInput(`x${i}`, o.data));
  program.run();
  const got = await program.read('y');
  const inputs = Object.fromEntries(operands.flatMap((o, i) => (i === weightAt ? [] : [[`x${i}`, o.data instanceof Int32Array ? o.data : Float64Array.from(o.data)]])));
  // The interpreter rounds the f32 values to the weight's dtype, as the upload did.
  const ref = interpret(b.graph, { inputs, params: { w: Float64Array.from(w.data) } }, { precision: 'f64' });
  expectClose(got, ref.outputs['y']!, tol, `${what} ${JSON.stringify(v)}`);
  const keys = program.launches.map((l) => l.key).join(' ');
  program.destroy();
  return keys;
}

const tol = (k: number) => ({ rtol: 1e-4, atol: 2e-5 * Math.sqrt(k) });

describe('16-bit weights', () => {
  gpuTest('matmul reads a 16-bit weight: NT (x·Wᵀ, a Linear) and NN, with and without vec4 loads, both GEMM forms', async (gpu) => {
    if (!gpu.features.has('shader-f16')) throw new Error('this adapter lacks shader-f16; the native f16 variant needs it');
    for (const v of VARIANTS) {
      // Scalar loads (K, N odd) and vec4 loads (multiples of 4) of W, across tile edges.
      for (const [M, K, N] of [[7, 33, 65], [66, 20, 36]] as [number, number, number][]) {
        const nt = await checkHalf(gpu, v, 'matmul', { transA: false, transB: true }, [f([M, K], 1), f([N, K], 2)], 1, `NT ${M}x${K}x${N}`, tol(K));
        // The key names the storage, so a pipeline is never shared with the f32 form.
        expect(nt).toContain(v.nativeF16 ? 'f16h' : v.dtype);
      }
      // dx = dy·W of a frozen Linear (the backward of x·Wᵀ), batched rows, vec4 along N.
      await checkHalf(gpu, v, 'matmul', { transA: false, transB: false }, [f([2, 5, 12], 5), f([12, 36], 6)], 1, 'batched NN', tol(12));
    }
  });

  gpuTest('lowrank_matmul reads its W in 16 bits (the fused LoRA forward)', async (gpu) => {
    for (const [i, v] of VARIANTS.entries()) {
      for (const transL of [i % 2 === 0]) {
        const [M, K, N, r] = [34, 20, 36, 3];
        const ops = [f([M, K], 7), f([N, K], 8), f([M, r], 9), f(transL ? [N, r] : [r, N], 10), f([N], 11)];
        await checkHalf(gpu, v, 'lowrank_matmul', { transW: true, transL, scale: 0.5, hasBias: true }, ops, 1, `lowrank L${transL}`, tol(K));
      }
    }
  });

  gpuTest('embedding reads a 16-bit table, whole and as a row chunk; cast widens exactly', async (gpu) => {
    for (const v of VARIANTS.filter((x) => x.kind === 'cpu')) {
      await checkHalf(gpu, v, 'embedding', {}, [f([11, 7], 12), ids([3, 5], 13, 11)], 0, 'embedding');
      // A chunk holding rows [4, 9) of an 11-row table: other ids give zeros.
      await checkHalf(gpu, v, 'embedding', { rows: { start: 4, total: 11 } }, [f([5, 7], 14), ids([3, 5], 15, 11)], 0, 'embedding chunk');
      await checkHalf(gpu, v, 'cast', {}, [f([3, 5], 16, -70000, 70000)], 0, 'cast', { rtol: 0, atol: 0 });
    }
  });

  gpuTest('a 16-bit weight reads back widened, and odd element counts upload padded', async (gpu) => {
    const b = new GraphBuilder();
    const p = b.param('w', [3, 3], 'frozen', { dtype: 'bf16' });
    b.output('y', b.emit('cast', [p], {}));
    const program = await GpuProgram.create(gpu, compileGraph(b.graph, { target: targetFor(gpu), reuseBuffers: false }));
    const values = rand(9, 17);
    program.setParam('w', values); // f32 numbers are rounded to bf16 on upload
    program.run();
    const back = await program.getParam('w');
    const ref = interpret(b.graph, { params: { w: values } }).outputs['y']!;
    expect(Array.from(back)).toEqual(Array.from(ref));
    expect(Array.from(await program.read('y'))).toEqual(Array.from(ref));
    // 9 bf16 values are 18 bytes; the plan rounds buffers to 16.
    expect(program.stats.bytes.frozen_weights).toBe(32);
    program.destroy();
  });
});

export type { Shape };
