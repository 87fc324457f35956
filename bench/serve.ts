// Section "serve": many adapters over one base model.
//   decode   tokens/s of one decoding step of a Llama-shaped model at batch 8 (every step reads its
//            logits back, as generation must), three ways:
//              multi      8 rows, 8 different adapters (ranks 4..16 stacked, padded to 16) applied
//                         by gathered_lowrank in the one batch (the serving engine's graph);
//              merged     8 rows of one model with an adapter merged into its weights (the cost of
//                         the base alone: the upper bound for multi);
//              sequential the adapters one after another: each decodes its request at batch 1
//                         through the single-adapter (fused LoRA) graph, after uploading its
//                         factors; tokens/s over 8 requests of REQUEST_TOKENS tokens each.
//   load     N concurrent clients (the official openai client, 127.0.0.1 only) against an in-process
//            server on the same model with the 8 adapters, for a bounded time and request count:
//            latency p50/p99, tokens/s, errors (target 0).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import type { CheckedModel } from '../compiler/check/model.ts';
import { compile } from '../compiler/compile.ts';
import { ADAPTER_INDEX_INPUT, OFFSET_INPUT, POSITIONS_INPUT } from '../compiler/lower/lower-model.ts';
import type { Target } from '../compiler/target.ts';
import { startServer } from '../apps/server/start.ts';
import { adapterWeights } from '../runtime/adapters/adapter-weights.ts';
import { applyPeftConfig } from '../runtime/adapters/apply-peft.ts';
import { mergeAdapterWeights, stripAdapters } from '../runtime/adapters/merge-model.ts';
import type { GpuContext } from '../runtime/device/device.ts';
import { createExecutor } from '../runtime/exec/create.ts';
import { GpuExecutor } from '../runtime/exec/gpu-executor.ts';
import { profileKernels } from '../runtime/device/profile.ts';
import type { Executor } from '../runtime/exec/executor.ts';
import { readAdapterDir } from '../runtime/io/node-fs.ts';
import { EXAMPLES_DIR, loadSpec } from '../runtime/model/load-spec.ts';
import { initBaseWeights, setWeights, type WeightMap } from '../runtime/model/weights.ts';
import { AdapterRegistry } from '../runtime/serve/adapter-registry.ts';
import { writeModelFile } from '../runtime/model/base-weights.ts';
import { writeRandomAdapter } from './adapters.ts';
import type { ServeDecodeRow, ServeLoadRow } from './format.ts';
import { now, timeInterleaved } from './timing.ts';

/** A Llama-shaped model small enough for a CPU adapter: hidden 1024, 4 layers, GQA, vocab 32000. */
export const SERVE_MODEL = {
  model_type: 'llama', hidden_size: 1024, intermediate_size: 2816, num_hidden_layers: 4, num_attention_heads: 16,
  num_key_value_heads: 4, head_dim: 64, vocab_size: 32000, max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 500000.0,
  tie_word_embeddings: true,
};
export const QUICK_SERVE_MODEL = { ...SERVE_MODEL, hidden_size: 256, intermediate_size: 688, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 4096 };

export const SERVE_BATCH = 8;
/** Ranks of the 8 adapters: several, so the stacked buffers pad (to 16). */
const RANKS = [4, 8, 16, 16, 8, 4, 16, 12];
const TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const CACHE = 256;
/** Tokens each request decodes in the sequential variant (the adapter upload is spread over them). */
export const REQUEST_TOKENS = 32;

interface Fixture {
  dir: string;
  model: CheckedModel;
  base: WeightMap;
  adapters: string[];
}

function fixture(quick: boolean): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rankfold-bench-serve-'));
  const config = quick ? QUICK_SERVE_MODEL : SERVE_MODEL;
  const model = stripAdapters(loadSpec(path.join(EXAMPLES_DIR, 'llama.rf'), { config }));
  const base = initBaseWeights(model, 1);
  const adapters = RANKS.map((r, i) => writeRandomAdapter(path.join(dir, `adapter${i}`), model, { targets: TARGETS, r, seed: 100 + i, scale: 0.05 }));
  return { dir, model, base, adapters };
}

/** One decoding step at position `pos` for every row; reads the logits back. With `index`: the multi-adapter graph (per-row offsets). */
async function decodeStep(e: Executor, batch: number, pos: number, index?: Int32Array): Promise<void> {
  e.setInput('ids', new Int32Array(batch).fill(7));
  e.setInput(POSITIONS_INPUT, new Int32Array(batch).fill(pos));
  e.setInput(OFFSET_INPUT, index ? new Int32Array(batch).fill(pos) : Int32Array.of(pos));
  if (index) e.setInput(ADAPTER_INDEX_INPUT, index);
  e.run();
  await e.read('logits');
}

export async function benchServeDecode(gpu: GpuContext, target: Target, quick: boolean, log: (s: string) => void): Promise<ServeDecodeRow[]> {
  const f = fixture(quick);
  const exec = { backend: 'webgpu' as const, gpu };
  const B = SERVE_BATCH;
  // multi: the engine's decoding graph, the adapters loaded into its slots as the server does.
  const multi = await createExecutor(compile(f.model, { mode: 'decode', batch: B, seq: 1, cacheLen: CACHE, rowOffsets: true, adapters: { slots: B, maxRank: 16, targets: TARGETS }, target }), exec);
  setWeights(multi, f.base);
  const registry = new AdapterRegistry(f.model, { slots: B, maxRank: 16, targets: TARGETS }, [multi]);
  f.adapters.forEach((dir, i) => registry.load(`a${i}`, dir));
  const index = Int32Array.from({ length: B }, (_, i) => i);
  // merged: adapter 0 merged into the base, plain decoding graph at the same batch.
  const adapter0 = readAdapterDir(f.adapters[0]!);
  const adapted0 = applyPeftConfig(f.model, adapter0.config);
  const merged = await createExecutor(compile(f.model, { mode: 'decode', batch: B, seq: 1, cacheLen: CACHE, target }), exec);
  setWeights(merged, mergeAdapterWeights(adapted0, f.base, adapterWeights(adapted0, adapter0, f.adapters[0]!)));
  // sequential: one single-adapter graph per layout (rank), batch 1.
  const singles = new Map<number, Executor>();
  const loras = f.adapters.map((dir) => {
    const a = readAdapterDir(dir);
    const m = applyPeftConfig(f.model, a.config);
    return { rank: a.config.r, model: m, weights: adapterWeights(m, a, dir) };
  });
  for (const l of loras) {
    if (singles.has(l.rank)) continue;
    const e = await createExecutor(compile(l.model, { mode: 'decode', batch: 1, seq: 1, cacheLen: CACHE, target }), exec);
    setWeights(e, f.base);
    singles.set(l.rank, e);
  }
  log(`serve decode: compiled (multi ${multi.graph.nodes.length} nodes, merged ${merged.graph.nodes.length})`);
  let pos = 0;
  const next = () => (pos = (pos + 1) % (CACHE - 1));
  const opts = { warmup: 2, reps: quick ? 7 : 15, minSampleMs: 0, maxInner: 1 };
  const [tMulti, tMerged, tSingle] = await timeInterleaved(
    [
      { step: () => decodeStep(multi, B, next(), index), sync: async () => {} },
      { step: () => decodeStep(merged, B, next()), sync: async () => {} },
      { step: () => decodeStep(singles.get(loras[0]!.rank)!, 1, next()), sync: async () => {} },
    ],
    opts,
  );
  // Sequential serving: each adapter uploads its factors, then decodes its request at batch 1.
  const switches: number[] = [];
  for (const l of loras) {
    const t0 = now();
    setWeights(singles.get(l.rank)!, l.weights);
    await gpu.device.queue.onSubmittedWorkDone();
    switches.push(now() - t0);
  }
  const switchMs = Math.min(...switches);
  // Kernel time per step, each dispatch alone and fastest of 3: what load on a shared CPU adapter
  // cannot inflate (the wall-clock medians above can, by seconds).
  const kernels = async (e: Executor) => (e instanceof GpuExecutor ? (await profileKernels(e.program, 3)).kernelMs : NaN);
  const [kMulti, kMerged] = [await kernels(multi), await kernels(merged)];
  // Per token, over one request: the upload, then REQUEST_TOKENS steps.
  const perToken = (stepMs: number) => (switchMs + REQUEST_TOKENS * stepMs) / REQUEST_TOKENS;
  for (const e of [multi, merged, ...singles.values()]) e.destroy();
  fs.rmSync(f.dir, { recursive: true, force: true });
  const row = (name: string, ms: number, best: number, tokens: number, kernelMs?: number): ServeDecodeRow => ({
    name, msPerStep: ms, bestMs: best, tokensPerSecond: (1000 * tokens) / ms, bestTokensPerSecond: (1000 * tokens) / best, ...(kernelMs !== undefined ? { kernelMs } : {}),
  });
  return [
    row(`multi: ${B} adapters in one batch of ${B}`, tMulti!.ms, tMulti!.min, B, kMulti),
    row(`merged: one model, batch ${B}`, tMerged!.ms, tMerged!.min, B, kMerged),
    row(`sequential: ${B} adapters one after another, batch 1 (${REQUEST_TOKENS} tokens each, upload ${switchMs.toFixed(1)} ms)`, perToken(tSingle!.ms), perToken(tSingle!.min), 1),
  ];
}

export interface LoadTestOptions {
  clients: number;
  seconds: number;
  maxRequests: number;
  maxTokens: number;
}

/**
 * N concurrent clients against a server on 127.0.0.1, bounded in time and count. The server stack is
 * what this measures (HTTP, admission, continuous batching, streaming none), so the model is the
 * small one: on a CPU adapter the large one takes seconds per step.
 */
export async function benchServeLoad(gpu: GpuContext, o: LoadTestOptions, log: (s: string) => void): Promise<ServeLoadRow> {
  const f = fixture(true);
  const modelDir = path.join(f.dir, 'model');
  fs.mkdirSync(modelDir);
  fs.writeFileSync(path.join(modelDir, 'config.json'), JSON.stringify(QUICK_SERVE_MODEL));
  writeModelFile(path.join(modelDir, 'model.safetensors'), f.model, f.base);
  writeByteLevelTokenizer(modelDir, QUICK_SERVE_MODEL.vocab_size);
  const server = await startServer({
    model: modelDir, servedName: 'base', adapters: Object.fromEntries(f.adapters.map((d, i) => [`a${i}`, d])),
    host: '127.0.0.1', port: 0, maxQueue: o.clients, maxSeqs: SERVE_BATCH, maxModelLen: CACHE, prefillChunk: 16,
    requestTimeoutS: 600, shutdownTimeoutS: 30, backend: 'webgpu', gpu,
  });
  log(`serve load: ${o.clients} clients for ${o.seconds} s on ${server.url}`);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'bench', maxRetries: 0 });
  const latencies: number[] = [];
  let errors = 0;
  let tokens = 0;
  let started = 0;
  const t0 = now();
  const deadline = t0 + o.seconds * 1000;
  await Promise.all(
    Array.from({ length: o.clients }, async (_, c) => {
      while (now() < deadline && started < o.maxRequests) {
        const i = started++;
        const t = now();
        try {
          const r = await client.completions.create({ model: `a${(c + i) % RANKS.length}`, prompt: `req ${i}:`, max_tokens: o.maxTokens, temperature: 0 });
          tokens += r.usage?.completion_tokens ?? 0;
          latencies.push(now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const wall = now() - t0;
  await server.close();
  fs.rmSync(f.dir, { recursive: true, force: true });
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { clients: o.clients, seconds: wall / 1000, requests: latencies.length + errors, errors, p50Ms: pct(0.5), p99Ms: pct(0.99), tokensPerSecond: (1000 * tokens) / wall, maxTokens: o.maxTokens };
}

/**
 * A byte-level BPE tokenizer.json with no merges over the first `vocab` ids (bytes, then filler
 * tokens): the load test's model has random weights and a made-up vocabulary, and the server needs
 * a tokenizer; a real one would not fit a 4k or 32k vocabulary.
 */
function writeByteLevelTokenizer(dir: string, vocab: number): void {
  const bytes = new Map<number, string>();
  // GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest to U+0100 on.
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    bytes.set(b, String.fromCharCode(printable ? b : 256 + extra++));
  }
  const model: Record<string, number> = {};
  for (let b = 0; b < 256; b++) model[bytes.get(b)!] = b;
  for (let i = 256; i < vocab - 1; i++) model[`<filler_${i}>`] = i;
  model['<|eot|>'] = vocab - 1;
  const tokenizer = {
    version: '1.0',
    added_tokens: [{ id: vocab - 1, content: '<|eot|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: model, merges: [] },
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|eot|>' }));
}
