// Row reductions, column sums and scalar reductions against the f64 interpreter. Row lengths 1, 7,
// 33, 65 and 300 cover a partial 64-lane stride, several strides and one element per row; row counts
// past 64 cover several column-sum chunks. Tolerance: rtol 1e-4, atol 1e-5 (sums of <= a few hundred
// O(1) terms in f32), 1e-4 absolute where a result is a sum over many rows.
import { describe } from 'vitest';
import { gpuTest } from '../../../helpers/gpu.ts';
import { checkOp, f, ids } from './op-harness.ts';

const ROWS: [number[], number][] = [[[1], 1], [[7], 7], [[3, 11], 33], [[65], 65], [[2, 3], 300]];

describe('reduction kernels', () => {
  gpuTest('rmsnorm and layernorm with their gradients', async (gpu) => {
    for (const [lead, d] of ROWS) {
      const x = f([...lead, d], 1);
      const dy = f([...lead, d], 2);
      const w = f([d], 3, 0.5, 1.5);
      const b = f([d], 4);
      await checkOp(gpu, 'rmsnorm', { eps: 1e-6 }, [x, w], {}, `rmsnorm ${d}`);
      await checkOp(gpu, 'rmsnorm_grad', { eps: 1e-6 }, [x, w, dy], { rtol: 1e-4, atol: 5e-5 }, `rmsnorm_grad ${d}`);
      await checkOp(gpu, 'layernorm', { eps: 1e-5 }, [x, w, b], {}, `layernorm ${d}`);
      await checkOp(gpu, 'layernorm_grad', { eps: 1e-5 }, [x, w, dy], { rtol: 1e-4, atol: 5e-5 }, `layernorm_grad ${d}`);
    }
  });

  gpuTest('norm weight gradients and sum_to reduce over rows (several chunks)', async (gpu) => {
    for (const [rows, d] of [[1, 7], [7, 33], [130, 65], [200, 3]] as const) {
      const x = f([rows, d], 5);
      const dy = f([rows, d], 6);
      const tol = { rtol: 1e-4, atol: 1e-5 * Math.sqrt(rows) };
      await checkOp(gpu, 'rmsnorm_grad_w', { eps: 1e-6 }, [x, dy], tol, `rmsnorm_grad_w ${rows}x${d}`);
      await checkOp(gpu, 'layernorm_grad_w', { eps: 1e-5 }, [x, dy], tol, `layernorm_grad_w ${rows}x${d}`);
      await checkOp(gpu, 'sum_to', { shape: [d] }, [x], tol, `sum_to ${rows}x${d}`);
    }
    await checkOp(gpu, 'sum_to', { shape: [] }, [f([5, 7, 9], 7)], { atol: 1e-4 }, 'sum_to scalar');
    await checkOp(gpu, 'sum_to', { shape: [7, 9] }, [f([5, 7, 9], 8)], {}, 'sum_to 2-D suffix');
  });

  gpuTest('row_norm, row_norm_grad and sumsq', async (gpu) => {
    for (const [n, k] of [[1, 1], [7, 33], [65, 130]] as const) {
      await checkOp(gpu, 'row_norm', {}, [f([n, k], 9)], {}, `row_norm ${n}x${k}`);
      await checkOp(gpu, 'row_norm_grad', {}, [f([n, k], 10), f([n], 11)], {}, `row_norm_grad ${n}x${k}`);
    }
    const zeroRow = { data: new Float32Array([0, 0, 1, 2]), shape: [2, 2] };
    await checkOp(gpu, 'row_norm_grad', {}, [zeroRow, f([2], 12)], {}, 'row_norm_grad zero row');
    for (const n of [1, 33, 1000, 300_001]) await checkOp(gpu, 'sumsq', {}, [f([n], 13)], { rtol: 1e-5 }, `sumsq ${n}`);
  });

  gpuTest('cross_entropy and its gradient, with ignored labels', async (gpu) => {
    for (const [rows, v] of [[1, 7], [7, 33], [65, 300]] as const) {
      const logits = f([rows, v], 14, -6, 6);
      const labels = ids([rows], 15, v);
      if (rows > 1) labels.data[1] = -100;
      const dloss = { data: new Float32Array([1.7]), shape: [] };
      await checkOp(gpu, 'cross_entropy', { ignoreIndex: -100 }, [logits, labels], { rtol: 1e-5, atol: 1e-5 }, `ce ${rows}x${v}`);
      await checkOp(gpu, 'cross_entropy_grad', { ignoreIndex: -100 }, [logits, labels, dloss], { rtol: 1e-4, atol: 1e-6 }, `ce_grad ${rows}x${v}`);
    }
    // Every label ignored: loss 0 and a zero gradient, as the interpreter defines.
    const all = { data: new Int32Array([-100, -100]), shape: [2] };
    await checkOp(gpu, 'cross_entropy', { ignoreIndex: -100 }, [f([2, 5], 16), all], { atol: 0, rtol: 0 }, 'ce all ignored');
    await checkOp(gpu, 'cross_entropy_grad', { ignoreIndex: -100 }, [f([2, 5], 16), all, { data: new Float32Array([1]), shape: [] }], { atol: 0, rtol: 0 }, 'ce_grad all ignored');
  });

  gpuTest('embedding_grad sums rows per id', async (gpu) => {
    await checkOp(gpu, 'embedding_grad', { vocab: 11 }, [ids([3, 7], 17, 11), f([3, 7, 33], 18)], {}, 'embedding_grad');
    await checkOp(gpu, 'embedding_grad', { vocab: 1 }, [ids([5], 19, 1), f([5, 65], 20)], {}, 'embedding_grad one id');
  });

  gpuTest('rows longer than LANE_ROW_MAX use the workgroup-per-row kernels', async (gpu) => {
    const d = 1100;
    const x = f([3, d], 51);
    const dy = f([3, d], 52);
    const w = f([d], 53, 0.5, 1.5);
    await checkOp(gpu, 'rmsnorm', { eps: 1e-6 }, [x, w], {}, `rmsnorm:wg ${d}`);
    await checkOp(gpu, 'layernorm', { eps: 1e-5 }, [x, w, f([d], 54)], {}, `layernorm:wg ${d}`);
    await checkOp(gpu, 'layernorm_grad', { eps: 1e-5 }, [x, w, dy], { rtol: 1e-4, atol: 5e-5 }, `layernorm_grad:wg ${d}`);
    await checkOp(gpu, 'layernorm_grad_w', { eps: 1e-5 }, [x, dy], { rtol: 1e-4, atol: 1e-4 }, `layernorm_grad_w:wg ${d}`);
    const logits = f([3, d], 55, -6, 6);
    const labels = ids([3], 56, d);
    await checkOp(gpu, 'cross_entropy', { ignoreIndex: -100 }, [logits, labels], { rtol: 1e-5, atol: 1e-5 }, `ce:wg ${d}`);
    await checkOp(gpu, 'cross_entropy_grad', { ignoreIndex: -100 }, [logits, labels, { data: new Float32Array([1.3]), shape: [] }],
      { rtol: 1e-4, atol: 1e-6 }, `ce_grad:wg ${d}`);
  });
});
