// Attention and its gradients against the f64 interpreter: causal and not, grouped-query heads,
// headDim 1..256 (one to DPT dims per thread), T across the 64-key block, a KV-cache offset, and
// the per-row statistics (attention_stats) the gradients share.
// Tolerance: rtol 2e-4, atol 2e-5: softmax weights carry ~1e-7 relative error per exp and the
// gradients subtract row dots (dP − Σ P·dP), which costs about one more digit.
import { describe } from 'vitest';
import { gpuTest } from '../../../helpers/gpu.ts';
import { checkOp, f, type HarnessOptions, type Operand } from './op-harness.ts';
import { evalOp } from '../../../../compiler/ir/interp.ts';
import type { AttentionAttrs } from '../../../../compiler/ir/ops.ts';
import { FLAT_MAX_T, NARROW_DIM } from '../../../../compiler/emit/attention.ts';
import type { GpuContext } from '../../../../runtime/device/device.ts';

const CASES: { B: number; T: number; heads: number; kvHeads: number; headDim: number; causal: boolean; window?: number }[] = [
  { B: 1, T: 1, heads: 1, kvHeads: 1, headDim: 1, causal: true },
  { B: 2, T: 7, heads: 4, kvHeads: 2, headDim: 8, causal: true },
  { B: 1, T: 65, heads: 2, kvHeads: 1, headDim: 33, causal: true },
  { B: 1, T: 33, heads: 3, kvHeads: 3, headDim: 16, causal: false },
  { B: 1, T: 5, heads: 1, kvHeads: 1, headDim: 256, causal: true },
  { B: 2, T: 21, heads: 2, kvHeads: 1, headDim: 20, causal: false }, // :wide, non-causal, partial 16-row block
  // Sliding windows (Mistral): shorter than a row block, across blocks, and of one key.
  { B: 2, T: 23, heads: 4, kvHeads: 2, headDim: 8, causal: true, window: 5 },
  { B: 1, T: 40, heads: 2, kvHeads: 1, headDim: 24, causal: true, window: 20 },
  { B: 1, T: 9, heads: 1, kvHeads: 1, headDim: 4, causal: true, window: 1 },
];
const tol = { rtol: 2e-4, atol: 2e-5 };
const attrsOf = (c: (typeof CASES)[number]): AttentionAttrs =>
  ({ heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, scale: 1 / Math.sqrt(c.headDim) * 2, causal: c.causal, ...(c.window ? { window: c.window } : {}) });
const f64 = (o: Operand) => ({ data: Float64Array.from(o.data), shape: o.shape });

function operands(c: (typeof CASES)[number], seed: number) {
  return [
    f([c.B, c.T, c.heads * c.headDim], seed),
    f([c.B, c.T, c.kvHeads * c.headDim], seed + 1),
    f([c.B, c.T, c.kvHeads * c.headDim], seed + 2),
    f([c.B, c.T, c.heads * c.headDim], seed + 3),
  ];
}

/**
 * attention_stats (fed the interpreter's forward output y: the kernel's rowDot is dO·y, the oracle's
 * Σ P·dP), then each gradient fed the interpreter's exact stats rows (the oracle ignores them).
 */
async function checkBackward(gpu: GpuContext, c: (typeof CASES)[number], options: HarnessOptions = {}): Promise<void> {
  const what = `${options.target ?? ''} ${JSON.stringify(c)}`;
  const ops = operands(c, 10);
  const y = evalOp('attention', attrsOf(c), ops.slice(0, 3).map(f64));
  const withY = [...ops, { data: Float32Array.from(y.data), shape: y.type.shape }];
  await checkOp(gpu, 'attention_stats', attrsOf(c), withY, tol, `attention_stats ${what}`, options);
  const stats = evalOp('attention_stats', attrsOf(c), withY.map(f64)).data;
  const withStats = [...ops, { data: Float32Array.from(stats), shape: [c.B, c.heads, c.T, 2] }];
  for (const wrt of ['q', 'k', 'v'] as const) {
    await checkOp(gpu, 'attention_grad', { ...attrsOf(c), wrt }, withStats, tol, `attention_grad ${wrt} ${what}`, options);
  }
}

describe('attention kernels', () => {
  gpuTest('attention forward', async (gpu) => {
    for (const c of CASES) {
      await checkOp(gpu, 'attention', attrsOf(c), operands(c, 1).slice(0, 3), tol, `attention ${JSON.stringify(c)}`);
    }
  });

  gpuTest('attention with a KV-cache offset', async (gpu) => {
    // q [1, 6, 2*8], cache of 12 slots, queries at positions 5..10 (a prefill: blocks of rows).
    const attrs: AttentionAttrs = { heads: 2, kvHeads: 1, headDim: 8, scale: 0.35, causal: true };
    const offset = { data: new Int32Array([5]), shape: [1] };
    await checkOp(gpu, 'attention', attrs, [f([1, 6, 16], 5), f([1, 12, 8], 6), f([1, 12, 8], 7), offset], tol, 'attention offset');
    await checkOp(gpu, 'attention', { ...attrs, causal: false }, [f([1, 6, 16], 5), f([1, 12, 8], 6), f([1, 12, 8], 7), offset], tol, 'attention offset non-causal');
    // A sliding window of 3 while decoding: the query at position 5 + t sees cache slots 3 + t .. 5 + t.
    await checkOp(gpu, 'attention', { ...attrs, window: 3 }, [f([1, 6, 16], 5), f([1, 12, 8], 6), f([1, 12, 8], 7), offset], tol, 'attention offset window');
  });

  gpuTest('few query rows (decoding): rows of different batches and heads share a workgroup', async (gpu) => {
    // T <= FLAT_MAX_T packs [B, heads, T] rows 16 (lavapipe) or 64 (GPU target) to a workgroup;
    // 5·3 rows leave the last block partly empty, and every case has a cache offset.
    const cases = [
      { B: 5, T: 1, heads: 3, kvHeads: 1, headDim: 8, causal: true, at: 6 },
      { B: 2, T: 3, heads: 4, kvHeads: 2, headDim: 16, causal: true, at: 2 },
      { B: 3, T: 1, heads: 2, kvHeads: 2, headDim: 20, causal: true, at: 9 }, // :wide
      { B: 2, T: FLAT_MAX_T, heads: 2, kvHeads: 1, headDim: 4, causal: false, at: 0 },
      { B: 3, T: 2, heads: 2, kvHeads: 1, headDim: 8, causal: true, at: 7, window: 4 }, // sliding window while decoding
    ];
    for (const c of cases) {
      const attrs: AttentionAttrs = { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, scale: 0.35, causal: c.causal, ...('window' in c ? { window: c.window } : {}) };
      const S = 12;
      const ops = [f([c.B, c.T, c.heads * c.headDim], 1), f([c.B, S, c.kvHeads * c.headDim], 2), f([c.B, S, c.kvHeads * c.headDim], 3), { data: new Int32Array([c.at]), shape: [1] }];
      for (const target of ['cpu', 'gpu'] as const) await checkOp(gpu, 'attention', attrs, ops, tol, `attention flat ${target} ${JSON.stringify(c)}`, { target });
    }
  });

  gpuTest('attention_stats and attention_grad for q, k and v', async (gpu) => {
    for (const c of CASES) await checkBackward(gpu, c);
  });

  gpuTest('backward kernels tuned for GPUs (64-row blocks; lavapipe itself gets 16)', async (gpu) => {
    const narrow = [...CASES.filter((c) => c.headDim <= NARROW_DIM), { B: 1, T: 70, heads: 2, kvHeads: 1, headDim: 8, causal: true }, { B: 1, T: 90, heads: 1, kvHeads: 1, headDim: 8, causal: true, window: 70 }];
    for (const c of narrow) await checkBackward(gpu, c, { target: 'gpu' });
  });
});
