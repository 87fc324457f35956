// The IR's op set: every op's name and attributes, with its semantics. Shape rules live in ops.ts,
// gradients in compiler/autodiff/rules, interpreter kernels in interp/ and WGSL emitters in
// compiler/emit; compiler/ops/registry.ts ties the four together per op. Activations are row-major;
// "rows" means the product of all but the last dimension.
import type { DType, HalfDType, ParamRole, Shape } from './tensor.ts';

export type StateKind = 'optimizer' | 'grad_accum' | 'kv_cache';

export type UnaryFn = 'silu' | 'gelu' | 'gelu_tanh' | 'relu' | 'neg' | 'exp' | 'sqrt' | 'recip';

export interface AttentionAttrs {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Multiplies q·k before the softmax (usually 1/sqrt(headDim)). */
  scale: number;
  causal: boolean;
  /**
   * Sliding window (Mistral's sliding_window): query i sees keys j with i − window < j ≤ i, so
   * `window` keys including itself. 0 or absent: no window. Requires causal masking.
   */
  window?: number;
}

/**
 * A parameter that holds rows [start, start + shape[0]) of the weight `of` (`total` rows): the split
 * pass cuts a weight larger than one GPU binding into such chunks, and the runtime fills each from
 * the stored tensor's row range.
 */
export interface RowRange {
  of: string;
  start: number;
  total: number;
}

export interface OpAttrs {
  /** Runtime-provided tensor (token ids, labels, optimizer hyper-parameters). */
  input: { name: string; dtype: DType; shape: Shape };
  /**
   * Persistent weight. Role decides gradients: only adapter/trainable parameters get them. `dtype`:
   * a frozen weight stored in 16 bits (bf16 or f16, as its file stores it; f32 when absent), read by
   * the ops that can widen it in their kernels (ir/ops.ts HALF_OPERANDS) and through `cast` by the
   * rest. `rows`: this parameter is a row chunk of a larger weight (the split pass).
   */
  param: { name: string; shape: Shape; role: ParamRole; dtype?: HalfDType; rows?: RowRange };
  /**
   * Persistent state that lives across runs: AdamW moments of the parameter `of` (kind 'optimizer',
   * the default), a gradient accumulator ('grad_accum') or a KV cache ('kv_cache').
   */
  state: { name: string; of: string; shape: Shape; kind?: StateKind };
  /** A tensor filled with one value. */
  const: { value: number; shape: Shape };
  /**
   * A compiler-made constant tensor whose values are in the graph (RoPE inverse frequencies, a few
   * dozen f32 values): the program uploads `data` once when it is created. `name` is unique per graph.
   */
  literal: { name: string; shape: Shape; data: number[] };
  /** Elementwise function of one input. */
  unary: { fn: UnaryFn };
  /** inputs (x, dy): dy * f'(x). */
  unary_grad: { fn: UnaryFn };
  /** a + b; b's shape must be a suffix of a's (broadcast over leading dims). */
  add: Record<string, never>;
  /** a - b, broadcast as add. */
  sub: Record<string, never>;
  /** a * b, broadcast as add. */
  mul: Record<string, never>;
  /** a / b, broadcast as add. */
  div: Record<string, never>;
  /** x * c. */
  scale: { c: number };
  /** A 16-bit tensor (bf16 or f16) widened to f32, exactly. Inserted by the storage pass only. */
  cast: Record<string, never>;
  /** Identity whose gradient is zero (PEFT's detached DoRA norm). */
  stop_gradient: Record<string, never>;
  /**
   * Inverted dropout: x * keep / (1 - p), keep = hash(seed, step, index) >= p, with `step` read
   * from the input named "step" at run time so masks change every step but forward and backward agree.
   */
  dropout: { p: number; seed: number };
  /**
   * Matrix product over 2-D views. Without transA: a is [...rows, K] and the result [...rows, N],
   * with b [K, N] (transB false) or [N, K] (transB true). With transA: a is viewed [R, M] and b
   * [R, N] (leading dims flattened, same R) and the result is aᵀ·b of shape [M, N] (transB false).
   */
  matmul: { transA: boolean; transB: boolean };
  /**
   * Fused low-rank linear: y = x·op(W) + scale·s·op(L) (+ bias). x [...rows, K], s [...rows, r],
   * op(W) [K, N] (W is [N, K] when transW), op(L) [r, N] (L is [N, r] when transL).
   * Forward LoRA: W = W0, s = x·Aᵀ, L = B. Backward: dx = dy·W0 + ds·A has the same form.
   */
  lowrank_matmul: { transW: boolean; transL: boolean; scale: number; hasBias: boolean };
  /**
   * Many LoRA adapters in one batch (Punica's BGMV, vLLM's and S-LoRA's multi-LoRA kernels):
   * inputs (x [B, ..., K], a [S, R, K], b [S, N, R], index i32 [B], and base [B, ..., N] when
   * hasBase). The adapters are stacked, one per slot s < S: a[s] is lora_A and b[s] is lora_B
   * times the adapter's scaling, ranks below R padded with zeros. Every row of batch row i gets
   * y = base + b[index[i]]·(a[index[i]]·x) when index[i] >= 0, and y = base (zeros without base)
   * when index[i] < 0 (no adapter: the base model alone). An index >= S is an error (the
   * interpreter throws; kernels treat it as no adapter). No gradient: a serving op.
   */
  gathered_lowrank: { hasBase: boolean };
  /** inputs (x, w): x / sqrt(mean(x², last dim) + eps) * w. */
  rmsnorm: { eps: number };
  /** inputs (x, w, dy) -> dx. */
  rmsnorm_grad: { eps: number };
  /** inputs (x, dy) -> dw, summed over rows. */
  rmsnorm_grad_w: { eps: number };
  /** inputs (x, w, b): (x - mean) / sqrt(var + eps) * w + b, biased variance over the last dim. */
  layernorm: { eps: number };
  /** inputs (x, w, dy) -> dx. */
  layernorm_grad: { eps: number };
  /** inputs (x, dy) -> dw, summed over rows. */
  layernorm_grad_w: { eps: number };
  /** Sums x over leading dimensions down to `shape`, a suffix of x's shape (bias gradients). */
  sum_to: { shape: Shape };
  /** Euclidean norm of each row of a 2-D x [N, K] -> [N]. */
  row_norm: Record<string, never>;
  /**
   * inputs (x [N, K], dy [N]) -> dx[n, k] = dy[n] · x[n, k] / ‖x[n]‖ (0 for a zero row): the gradient
   * of row_norm, an op of its own because [N] does not broadcast against [N, K] (suffix rule).
   */
  row_norm_grad: Record<string, never>;
  /**
   * Rotary position embedding, Hugging Face's rotate_half layout. inputs (x [B, T, heads*headDim],
   * invFreq [rotaryDim/2], offset? i32 [1]). For j < rotaryDim/2 at position pos, angle =
   * f32(pos · invFreq[j]) (rounded to f32, as torch computes it), and the pair (j, j + rotaryDim/2)
   * becomes (x_j·c − x_{j+rotaryDim/2}·s, x_{j+rotaryDim/2}·c + x_j·s) with c = scale·cos(angle),
   * s = scale·sin(angle) (scale: the yarn/longrope attention factor, 1 otherwise); features from
   * rotaryDim on pass through (partial rotary). pos is t, or offset[b] + t with an offset input (the
   * KV-cache position during generation: i32 [1], shared by every batch row b, or i32 [B], one per row). `transpose` applies the transposed map (angle negated,
   * same scale): the gradient.
   */
  rope: { heads: number; headDim: number; rotaryDim: number; scale: number; transpose: boolean };
  /**
   * Softmax attention. q [B, T, heads*headDim], k and v [B, S, kvHeads*headDim]; query head h uses
   * kv head floor(h / (heads/kvHeads)) (grouped-query). Result [B, T, heads*headDim]. Without a
   * fourth input S = T and query t sees keys j <= t (causal). With a fourth input offset (i32 [1]
   * or i32 [B], generation with a KV cache of S slots) query t of row b sits at position
   * offset[b] + t (offset[0] for every row when [1]) and sees keys j <= that position; later cache
   * slots are ignored. With a `window` W, keys j <= pos − W are
   * hidden too (training, evaluation and decoding alike).
   */
  attention: AttentionAttrs;
  /**
   * inputs (q, k, v, dy, y) -> f32 [B, heads, T, 2]: per query row, the softmax's logsumexp (of
   * scale·q·kᵀ over the visible keys) and rowDot = Σ_j P_ij·(dy_i·v_j), which equals dy_i·y_i for
   * y = attention(q, k, v), the forward output (same shape as q). Kernels compute rowDot as dy·y;
   * the interpreter computes Σ P·dP from q, k, v, dy (equal up to rounding when y is the forward
   * output). Training shapes only (no offset, S = T). The statistics every attention_grad of one
   * attention shares.
   */
  attention_stats: AttentionAttrs;
  /**
   * inputs (q, k, v, dy, stats) -> the gradient for q, k or v (recomputing the softmax). stats is
   * attention_stats(q, k, v, dy, y): the kernels read it instead of recomputing it; the interpreter
   * recomputes and ignores it, so the definition does not depend on it.
   */
  attention_grad: AttentionAttrs & { wrt: 'q' | 'k' | 'v' };
  /**
   * KV-cache write: inputs (cache [B, S, D], x [B, T, D], offset i32 [1] or [B]); copies row b of x
   * into cache[b, offset[b]:offset[b]+T, :] (offset[0] for every row when [1]) IN PLACE and returns
   * the cache (its result aliases input 0's buffer, so readers of the result see the write).
   * Positions past S are not written (the kernels skip them; the interpreter refuses them).
   */
  cache_update: Record<string, never>;
  /** The transpose of a 2-D x [M, N] -> [N, M] (its gradient is the transpose of dy). */
  transpose: Record<string, never>;
  /** x[..., start:start+size, ...] along `axis`. */
  slice: { axis: number; start: number; size: number };
  /** Places dy into zeros of size `full` along `axis` at `start` (the gradient of slice). */
  slice_grad: { axis: number; start: number; full: number };
  /**
   * inputs (table [V, D], ids [...]) -> [..., D]. With `rows`, the table holds rows [start, start + V)
   * of a table of `total` rows (a chunk of a split embedding): ids in that range read their row,
   * other ids in [0, total) give zeros (the chunks' results are added), ids outside [0, total) are an error.
   */
  embedding: { rows?: { start: number; total: number } };
  /** inputs (ids [...], dy [..., D]) -> [vocab, D], rows of dy summed per id - start (ids in [start, start + vocab) only). */
  embedding_grad: { vocab: number; start?: number };
  /**
   * inputs (logits [..., V], labels [...] i32) -> [] mean cross-entropy over labels != ignoreIndex.
   * Labels are already shifted (label t is the target of position t).
   */
  cross_entropy: { ignoreIndex: number };
  /** inputs (logits, labels, dloss []) -> dlogits. */
  cross_entropy_grad: { ignoreIndex: number };
  /**
   * inputs (logits [..., Vc] holding columns [start, start + Vc) of the logits, labels [...] i32,
   * prev [..., 3]?) -> [..., 3]: per row the online-softmax statistics (m, s, t) of the columns so far:
   * m = running max, s = Σ exp(x - m), t = the label's logit (0 until its chunk is seen). Chained over
   * the chunks of a split LM head; not differentiated (cross_entropy_chunked's gradient goes to the
   * logits directly).
   */
  logit_stats: { start: number };
  /**
   * inputs (stats [..., 3] of every chunk, labels [...], logits chunk 0, ..., chunk k-1) -> []: the mean
   * cross-entropy m + log(s) - t over labels != ignoreIndex (labels must lie in [0, vocab)). Only stats
   * and labels are read; the chunks are inputs so that the gradient reaches each of them.
   */
  cross_entropy_chunked: { ignoreIndex: number; vocab: number };
  /** inputs (logits chunk [..., Vc], labels, dloss [], stats [..., 3]) -> dlogits of the chunk (columns start..). */
  cross_entropy_chunked_grad: { ignoreIndex: number; vocab: number; start: number };
  /** Sum of squares of all elements -> []. */
  sumsq: Record<string, never>;
  /** input total sum of squares [] -> min(1, maxNorm / (sqrt(total) + 1e-6)) (gradient clipping). */
  clip_coef: { maxNorm: number };
  /**
   * Gradient accumulation: inputs (acc, g, hyper f32[4]); acc = (flags & 1 ? 0 : acc) + g IN PLACE,
   * flags = hyper[3]; the result aliases acc's buffer (like cache_update).
   */
  grad_accumulate: Record<string, never>;
  /**
   * In-place AdamW (PyTorch's, decoupled weight decay). inputs (param, grad, m, v, hyper, gradScale):
   * hyper is f32[4] = [lr, 1 - beta1^t, 1 - beta2^t, flags], gradScale [] multiplies grad first.
   * flags & 2 skips the update (a micro-step of gradient accumulation that only accumulates).
   * p -= lr*wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²;
   * p -= lr * (m / bc1) / (sqrt(v / bc2) + eps). Produces a [] placeholder; listed in graph.effects.
   */
  adamw: { beta1: number; beta2: number; eps: number; weightDecay: number };
}

export type OpName = keyof OpAttrs;
