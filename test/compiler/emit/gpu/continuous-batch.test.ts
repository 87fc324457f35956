// The ops of a continuous decoding batch against the f64 interpreter: KV-cache positions per batch
// row (rope, cache_update and attention with an offset of shape [B]), and gathered_lowrank, the
// multi-adapter product (several adapters of different ranks stacked with zero padding, rows with
// no adapter, with and without a base term, one token or several per batch row).
import { describe, expect, it } from 'vitest';
import { gpuTest } from '../../../helpers/gpu.ts';
import { checkOp, f, rand, type Operand } from './op-harness.ts';
import { evalOp } from '../../../../compiler/ir/interp.ts';
import type { AttentionAttrs } from '../../../../compiler/ir/ops.ts';
import { inferType } from '../../../../compiler/ir/ops.ts';
import { defaultInvFreq } from '../../../../compiler/lower/rope.ts';

const tol = { rtol: 2e-4, atol: 2e-5 };
const i32 = (...v: number[]): Operand => ({ data: Int32Array.from(v), shape: [v.length] });

/** Adapters of ranks `ranks` (in, out features) stacked into [S, R, K] and [S, N, R] with zero padding, B scaled. */
function stack(ranks: number[], K: number, N: number, scalings: number[], seed: number) {
  const R = Math.max(...ranks);
  const S = ranks.length;
  const a = new Float32Array(S * R * K);
  const b = new Float32Array(S * N * R);
  const adapters = ranks.map((r, s) => {
    const A = rand(r * K, seed + 2 * s); // [r, K]
    const B = rand(N * r, seed + 2 * s + 1); // [N, r]
    for (let i = 0; i < r; i++) a.set(A.subarray(i * K, (i + 1) * K), (s * R + i) * K);
    for (let n = 0; n < N; n++) for (let i = 0; i < r; i++) b[(s * N + n) * R + i] = B[n * r + i]! * scalings[s]!;
    return { A, B, r, scaling: scalings[s]! };
  });
  return { a: { data: a, shape: [S, R, K] }, b: { data: b, shape: [S, N, R] }, adapters, R };
}

describe('gathered_lowrank (interpreter = the definition)', () => {
  it('each batch row gets its own adapter (PEFT arithmetic per row), or nothing for index -1', () => {
    const [B, T, K, N] = [4, 2, 12, 10];
    const st = stack([2, 5, 3], K, N, [2, 0.5, 4], 7);
    const x = f([B, T, K], 3);
    const base = f([B, T, N], 4);
    const index = i32(1, -1, 0, 2);
    const y = evalOp('gathered_lowrank', { hasBase: true }, [x, st.a, st.b, index, base], { precision: 'f64' }).data;
    for (let bi = 0; bi < B; bi++) {
      for (let t = 0; t < T; t++) {
        const row = bi * T + t;
        const ad = index.data[bi]! >= 0 ? st.adapters[index.data[bi]!] : undefined;
        for (let n = 0; n < N; n++) {
          let want = base.data[row * N + n]!;
          if (ad) {
            // scaling · Σ_r B[n, r] · (A[r] · x)
            for (let r = 0; r < ad.r; r++) {
              let s = 0;
              for (let k = 0; k < K; k++) s += ad.A[r * K + k]! * x.data[row * K + k]!;
              want += ad.scaling * ad.B[n * ad.r + r]! * s;
            }
          }
          expect(y[row * N + n]!).toBeCloseTo(want, 5);
        }
      }
    }
  });

  it('refuses an index past the stack and operands that do not fit', () => {
    const st = stack([2, 2], 4, 3, [1, 1], 1);
    expect(() => evalOp('gathered_lowrank', { hasBase: false }, [f([1, 4], 1), st.a, st.b, i32(2)])).toThrow(/adapter index 2 of batch row 0 is outside the 2 slots/);
    const t = (...shape: number[]) => ({ dtype: 'f32' as const, shape });
    expect(() => inferType('gathered_lowrank', [t(2, 4), t(2, 2, 5), t(2, 3, 2), { dtype: 'i32', shape: [2] }], { hasBase: false })).toThrow(/does not match x/);
    expect(() => inferType('gathered_lowrank', [t(2, 4), t(2, 2, 4), t(2, 3, 2), { dtype: 'i32', shape: [3] }], { hasBase: false })).toThrow(/index must be i32 \[2\]/);
    expect(() => inferType('gathered_lowrank', [t(2, 4), t(2, 2, 4), t(3, 3, 2), { dtype: 'i32', shape: [2] }], { hasBase: false })).toThrow(/does not match a/);
  });
});

describe('continuous-batch kernels on WebGPU', () => {
  gpuTest('gathered_lowrank: adapters of ranks 1..8 padded to 8, rows without adapter, with and without base', async (gpu) => {
    for (const { B, T, K, N, ranks, index } of [
      { B: 5, T: 1, K: 24, N: 40, ranks: [1, 8, 3, 4], index: [2, -1, 0, 3, 1] }, // decoding: one token per row
      { B: 1, T: 7, K: 16, N: 9, ranks: [2, 6], index: [1] }, // prefill: one sequence, several tokens
      { B: 3, T: 2, K: 33, N: 65, ranks: [5], index: [-1, 0, -1] },
    ]) {
      const st = stack(ranks, K, N, ranks.map((r) => 16 / r), 11);
      const ops = [f([B, T, K], 1), st.a, st.b, i32(...index)];
      const what = `gathered_lowrank ${JSON.stringify({ B, T, K, N, ranks, index })}`;
      await checkOp(gpu, 'gathered_lowrank', { hasBase: true }, [...ops, f([B, T, N], 2)], tol, `${what} base`);
      const { gpuOut } = await checkOp(gpu, 'gathered_lowrank', { hasBase: false }, ops, tol, what);
      // Rows without an adapter are exactly zero (exactly base with a base term).
      index.forEach((s, bi) => {
        if (s < 0) for (let i = bi * T * N; i < (bi + 1) * T * N; i++) expect(gpuOut[i]).toBe(0);
      });
    }
  });

  gpuTest('rope, cache_update and attention with one KV-cache position per batch row', async (gpu) => {
    const [B, S] = [4, 10];
    const offsets = i32(0, 7, 3, 9);
    const invFreq = defaultInvFreq(500, 6);
    for (const T of [1, 3]) {
      await checkOp(gpu, 'rope', { heads: 2, headDim: 6, rotaryDim: 6, scale: 1, transpose: false }, [f([B, T, 12], 1), { data: invFreq, shape: [3] }, offsets], { rtol: 1e-5, atol: 2e-6 }, `rope per-row offset T=${T}`);
    }
    // A cache write at each row's own position (other positions keep their values).
    const { gpuOut } = await checkOp(gpu, 'cache_update', {}, [f([B, S, 8], 2), f([B, 1, 8], 3), offsets], { rtol: 0, atol: 0 }, 'cache_update per-row offset');
    expect(gpuOut.length).toBe(B * S * 8);
    const attrs: AttentionAttrs = { heads: 4, kvHeads: 2, headDim: 8, scale: 0.35, causal: true };
    for (const target of ['cpu', 'gpu'] as const) {
      // One token per row (the flat kernel) and a few tokens per row (blocked rows: every row of a
      // workgroup has the same batch row, so its position bound stays uniform).
      await checkOp(gpu, 'attention', attrs, [f([B, 1, 32], 4), f([B, S, 16], 5), f([B, S, 16], 6), offsets], tol, `attention per-row offset ${target}`, { target });
      await checkOp(gpu, 'attention', attrs, [f([2, 6, 32], 4), f([2, 12, 16], 5), f([2, 12, 16], 6), i32(6, 1)], tol, `attention per-row offset prefill ${target}`, { target });
    }
  });
});
