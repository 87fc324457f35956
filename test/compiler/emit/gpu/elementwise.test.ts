// Elementwise, shape and small kernels against the f64 interpreter. Sizes are odd (1, 7, 33, 65,
// 1000) to hit workgroup edges. Tolerance: the harness default (rtol 1e-4, atol 1e-5) unless noted.
import { describe } from 'vitest';
import { gpuTest } from '../../../helpers/gpu.ts';
import { checkOp, f, ids } from './op-harness.ts';
import type { UnaryFn } from '../../../../compiler/ir/ops.ts';

const FNS: UnaryFn[] = ['silu', 'gelu', 'gelu_tanh', 'relu', 'neg', 'exp', 'sqrt', 'recip'];

describe('elementwise kernels', () => {
  gpuTest('unary and unary_grad, every fn', async (gpu) => {
    for (const fn of FNS) {
      // sqrt/recip need positive inputs; others use [-4, 4] to exercise the tails of gelu and tanh.
      const [lo, hi] = fn === 'sqrt' || fn === 'recip' ? [0.1, 3] : [-4, 4];
      await checkOp(gpu, 'unary', { fn }, [f([7, 33], 1, lo, hi)], { rtol: 2e-6, atol: 1e-6 }, `unary ${fn}`);
      await checkOp(gpu, 'unary_grad', { fn }, [f([65], 2, lo, hi), f([65], 3)], { rtol: 2e-6, atol: 1e-6 }, `unary_grad ${fn}`);
    }
  });

  gpuTest('binary ops broadcast suffix shapes', async (gpu) => {
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      await checkOp(gpu, op, {}, [f([3, 7, 33], 4), f([7, 33], 5, 0.5, 2)], { rtol: 1e-6, atol: 1e-7 }, `${op} suffix`);
      await checkOp(gpu, op, {}, [f([1000], 6), f([], 7, 0.5, 2)], { rtol: 1e-6, atol: 1e-7 }, `${op} scalar`);
    }
  });

  gpuTest('scale, stop_gradient, const, clip_coef', async (gpu) => {
    await checkOp(gpu, 'scale', { c: -0.37 }, [f([65], 8)], { rtol: 1e-6, atol: 0 });
    await checkOp(gpu, 'stop_gradient', {}, [f([7], 9)], { rtol: 0, atol: 0 });
    await checkOp(gpu, 'const', { value: 0.25, shape: [33] }, [], { rtol: 0, atol: 0 });
    for (const t of [0.01, 100]) await checkOp(gpu, 'clip_coef', { maxNorm: 1 }, [{ data: new Float32Array([t]), shape: [] }], { rtol: 1e-6 });
  });

  gpuTest('dropout reproduces the interpreter mask bit for bit', async (gpu) => {
    // Exact: the mask comes from the same integer hash; kept values are x / (1 - p) rounded once.
    await checkOp(gpu, 'dropout', { p: 0.3, seed: 1234 }, [f([1000], 10)], { rtol: 1e-7, atol: 0 });
    await checkOp(gpu, 'dropout', { p: 0.9, seed: 7 }, [f([7, 33], 11)], { rtol: 1e-7, atol: 0 });
  });

  gpuTest('slice and slice_grad on every axis', async (gpu) => {
    const x = f([3, 7, 5], 12);
    for (const [axis, start, size] of [[0, 1, 2], [1, 2, 4], [2, 0, 5], [-1, 3, 1]] as const) {
      await checkOp(gpu, 'slice', { axis, start, size }, [x], { rtol: 0, atol: 0 }, `slice ${axis}`);
      const full = x.shape.at(axis)!;
      const dyShape = x.shape.map((d, i) => (i === (axis < 0 ? 3 + axis : axis) ? size : d));
      await checkOp(gpu, 'slice_grad', { axis, start, full }, [f(dyShape, 13)], { rtol: 0, atol: 0 }, `slice_grad ${axis}`);
    }
  });

  gpuTest('transpose on odd shapes', async (gpu) => {
    for (const shape of [[1, 7], [33, 5], [65, 68]] as const) {
      await checkOp(gpu, 'transpose', {}, [f([...shape], 21)], { rtol: 0, atol: 0 }, `transpose ${shape.join('x')}`);
    }
  });

  gpuTest('embedding and cache_update', async (gpu) => {
    await checkOp(gpu, 'embedding', {}, [f([11, 33], 16), ids([2, 7], 17, 11)], { rtol: 0, atol: 0 });
    await checkOp(gpu, 'cache_update', {}, [f([2, 9, 5], 18), f([2, 3, 5], 19), { data: new Int32Array([4]), shape: [1] }], { rtol: 0, atol: 0 });
  });

  gpuTest('adamw updates param, m and v in place', async (gpu) => {
    const hyper = { data: new Float32Array([1e-2, 1 - 0.9 ** 3, 1 - 0.999 ** 3, 0]), shape: [4] };
    const attrs = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    await checkOp(gpu, 'adamw', attrs, [f([7, 33], 20), f([7, 33], 21), f([7, 33], 22, -0.1, 0.1), f([7, 33], 23, 0, 0.01),
      hyper, { data: new Float32Array([0.5]), shape: [] }], { rtol: 1e-5, atol: 1e-6 });
  });

  gpuTest('vec4 variants (lengths that are multiples of 4)', async (gpu) => {
    for (const fn of FNS) {
      const [lo, hi] = fn === 'sqrt' || fn === 'recip' ? [0.1, 3] : [-4, 4];
      await checkOp(gpu, 'unary', { fn }, [f([8, 33], 31, lo, hi)], { rtol: 2e-6, atol: 1e-6 }, `unary:v4 ${fn}`);
      await checkOp(gpu, 'unary_grad', { fn }, [f([68], 32, lo, hi), f([68], 33)], { rtol: 2e-6, atol: 1e-6 }, `unary_grad:v4 ${fn}`);
    }
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      await checkOp(gpu, op, {}, [f([3, 5, 12], 34), f([5, 12], 35, 0.5, 2)], { rtol: 1e-6, atol: 1e-7 }, `${op}:v4 suffix`);
      await checkOp(gpu, op, {}, [f([250, 4], 36), f([4], 37, 0.5, 2)], { rtol: 1e-6, atol: 1e-7 }, `${op}:v4 short suffix`);
    }
    await checkOp(gpu, 'scale', { c: -0.37 }, [f([1028], 38)], { rtol: 1e-6, atol: 0 }, 'scale:v4');
    const hyper = { data: new Float32Array([1e-2, 1 - 0.9 ** 3, 1 - 0.999 ** 3, 0]), shape: [4] };
    const attrs = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    await checkOp(gpu, 'adamw', attrs, [f([8, 33], 40), f([8, 33], 41), f([8, 33], 42, -0.1, 0.1), f([8, 33], 43, 0, 0.01),
      hyper, { data: new Float32Array([0.5]), shape: [] }], { rtol: 1e-5, atol: 1e-6 }, 'adamw:v4');
  });
});
