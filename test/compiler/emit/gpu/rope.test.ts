// The RoPE kernel against the f64 interpreter: full and partial rotary dims, an attention factor,
// the transposed map (the gradient), KV-cache offsets at positions in the thousands (the kernel
// reduces the f32 angle to [−π, π] before cos/sin), and the frequency tables of every RoPE type.
// Tolerance: angles are f32 in both (torch's rounding); cos/sin of the reduced angle carry ~1e-6.
import { describe } from 'vitest';
import { gpuTest } from '../../../helpers/gpu.ts';
import { checkOp, f } from './op-harness.ts';
import { defaultInvFreq, ropeTables } from '../../../../compiler/lower/rope.ts';

const tol = { rtol: 1e-5, atol: 2e-6 };
const freqs = (data: Float32Array) => ({ data, shape: [data.length] });
const at = (pos: number) => ({ data: new Int32Array([pos]), shape: [1] });

describe('rope kernel', () => {
  gpuTest('full rotary dim, forward and transposed', async (gpu) => {
    for (const transpose of [false, true]) {
      await checkOp(gpu, 'rope', { heads: 3, headDim: 8, rotaryDim: 8, scale: 1, transpose }, [f([2, 7, 24], 14), freqs(defaultInvFreq(10000, 8))], tol, `rope transpose=${transpose}`);
    }
  });

  gpuTest('partial rotary dim (pass-through features) and an attention factor', async (gpu) => {
    // headDim 10, rotaryDim 6 (Phi-style partial_rotary_factor 0.6): features 6..9 are copied.
    await checkOp(gpu, 'rope', { heads: 2, headDim: 10, rotaryDim: 6, scale: 1.1386, transpose: false }, [f([2, 5, 20], 15), freqs(defaultInvFreq(500, 6))], tol, 'rope partial');
    await checkOp(gpu, 'rope', { heads: 2, headDim: 10, rotaryDim: 6, scale: 1.1386, transpose: true }, [f([2, 5, 20], 16), freqs(defaultInvFreq(500, 6))], tol, 'rope partial transposed');
  });

  gpuTest('KV-cache offsets far into the sequence', async (gpu) => {
    for (const pos of [9, 4093, 70000]) {
      await checkOp(gpu, 'rope', { heads: 2, headDim: 8, rotaryDim: 8, scale: 1, transpose: false }, [f([1, 3, 16], 17), freqs(defaultInvFreq(10000, 8)), at(pos)], tol, `rope offset ${pos}`);
    }
  });

  gpuTest('the frequency tables of llama3, yarn, linear, dynamic and longrope', async (gpu) => {
    const tables = [
      ropeTables({ type: 'llama3', theta: 500000, dim: 16, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 }, 12),
      ropeTables({ type: 'yarn', theta: 10000, dim: 16, factor: 4, originalMaxPositions: 32 }, 12),
      ropeTables({ type: 'linear', theta: 10000, dim: 16, factor: 2 }, 12),
      ropeTables({ type: 'dynamic', theta: 10000, dim: 16, factor: 2, maxPositions: 8 }, 12),
      ropeTables({ type: 'longrope', theta: 10000, dim: 16, originalMaxPositions: 8, maxPositions: 32, shortFactor: [1, 1, 1, 2, 2, 3, 4, 5], longFactor: [1, 2, 3, 4, 5, 6, 7, 8] }, 12),
    ];
    for (const [i, t] of tables.entries()) {
      await checkOp(gpu, 'rope', { heads: 1, headDim: 16, rotaryDim: 16, scale: t.attentionFactor, transpose: false }, [f([1, 12, 16], 18 + i), freqs(t.invFreq)], tol, `rope table ${i}`);
    }
  });
});
