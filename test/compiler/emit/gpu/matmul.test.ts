// GEMM kernels against the f64 interpreter. Sizes straddle the 64x64 tile and the 16-wide K step
// (1, 7, 33, 65) and include multiples of 4 (vec4 loads) that are not multiples of the tile.
// Tolerance: rtol 1e-4 with atol 1e-5·sqrt(K): f32 dot products of K terms in [-1, 1] err by about
// sqrt(K)·2⁻²⁴ times the term size, well inside this.
import { describe, expect } from 'vitest';
import { gpuTest } from '../../../helpers/gpu.ts';
import { checkOp, f } from './op-harness.ts';
import { emitOp } from '../../../../compiler/emit/index.ts';

const SIZES: [number, number, number][] = [
  [1, 1, 1], [7, 33, 65], [65, 7, 33], [33, 65, 7], [64, 64, 64], [68, 20, 72], [3, 8, 130],
];
const tol = (k: number) => ({ rtol: 1e-4, atol: 1e-5 * Math.sqrt(k) });

describe('matmul kernels', () => {
  gpuTest('matmul NN, NT and TN on tile edges', async (gpu) => {
    for (const [M, K, N] of SIZES) {
      await checkOp(gpu, 'matmul', { transA: false, transB: false }, [f([M, K], 1), f([K, N], 2)], tol(K), `NN ${M}x${K}x${N}`);
      await checkOp(gpu, 'matmul', { transA: false, transB: true }, [f([M, K], 3), f([N, K], 4)], tol(K), `NT ${M}x${K}x${N}`);
      // transA: a [R, M] and b [R, N], R = K rows reduced.
      await checkOp(gpu, 'matmul', { transA: true, transB: false }, [f([K, M], 5), f([K, N], 6)], tol(K), `TN ${M}x${K}x${N}`);
    }
    // Leading batch dims flatten into rows.
    await checkOp(gpu, 'matmul', { transA: false, transB: true }, [f([2, 5, 12], 7), f([9, 12], 8)], tol(12), 'batched NT');
    await checkOp(gpu, 'matmul', { transA: true, transB: false }, [f([2, 5, 12], 9), f([2, 5, 9], 10)], tol(10), 'batched TN');
  });

  gpuTest('lowrank_matmul: every transpose combination, with and without bias', async (gpu) => {
    for (const [M, K, N] of [[7, 33, 65], [65, 16, 8], [1, 5, 3]] as const) {
      const r = 3;
      for (const transW of [false, true]) {
        for (const transL of [false, true]) {
          for (const hasBias of [false, true]) {
            const ops = [f([M, K], 11), f(transW ? [N, K] : [K, N], 12), f([M, r], 13), f(transL ? [N, r] : [r, N], 14)];
            if (hasBias) ops.push(f([N], 15));
            await checkOp(gpu, 'lowrank_matmul', { transW, transL, scale: 0.75, hasBias }, ops, tol(K),
              `lowrank ${M}x${K}x${N} W${transW} L${transL} b${hasBias}`);
          }
        }
      }
    }
  });

  // GpuProgram picks the register GEMM on software adapters and the tiled one on GPUs: run both here.
  for (const target of ['cpu', 'gpu'] as const) {
    gpuTest(`${target} GEMM: NN, NT and TN on tile edges, and lowrank_matmul`, async (gpu) => {
      for (const [M, K, N] of [...SIZES, [130, 9, 70], [5, 64, 3]] as [number, number, number][]) {
        await checkOp(gpu, 'matmul', { transA: false, transB: false }, [f([M, K], 21), f([K, N], 22)], tol(K), `${target} NN ${M}x${K}x${N}`, { target });
        await checkOp(gpu, 'matmul', { transA: false, transB: true }, [f([M, K], 23), f([N, K], 24)], tol(K), `${target} NT ${M}x${K}x${N}`, { target });
        await checkOp(gpu, 'matmul', { transA: true, transB: false }, [f([K, M], 25), f([K, N], 26)], tol(K), `${target} TN ${M}x${K}x${N}`, { target });
      }
      for (const transL of [false, true]) {
        const [M, K, N, r] = [66, 20, 36, 3];
        const ops = [f([M, K], 27), f([N, K], 28), f([M, r], 29), f(transL ? [N, r] : [r, N], 30), f([N], 31)];
        await checkOp(gpu, 'lowrank_matmul', { transW: true, transL, scale: 0.5, hasBias: true }, ops, tol(K), `${target} lowrank L${transL}`, { target });
      }
    });
  }

  gpuTest('vec4 variants are chosen only when the contiguous dims are multiples of 4', () => {
    const view = (a: number[], b: number[], transB: boolean) =>
      emitOp({ op: 'matmul', attrs: { transA: false, transB }, inputs: [{ dtype: 'f32', shape: a }, { dtype: 'f32', shape: b }], out: { dtype: 'f32', shape: [] } });
    expect(view([8, 12], [12, 16], false).launches[0]!.key).toBe('matmul:vA:vB');
    expect(view([8, 12], [16, 12], true).launches[0]!.key).toBe('matmul:tB:vA:vB');
    expect(view([8, 7], [7, 16], false).launches[0]!.key).toBe('matmul:vB');
    expect(view([9, 7], [7, 5], false).launches[0]!.key).toBe('matmul');
    // Sizes never change the key beyond alignment.
    expect(view([100, 64], [64, 32], false).launches[0]!.code).toBe(view([8, 12], [12, 16], false).launches[0]!.code);
    return Promise.resolve();
  });
});
