// Text generation with a KV cache. All prompts of a batch advance together, one position per run
// of the decoding graph: row i feeds its own prompt token while t < its prompt length and its last
// sampled token after, so prompts of different lengths share one cache offset and one dispatch list.
// The positions every prompt of the batch has (a multiple of PREFILL_BLOCK, short of the shortest
// prompt) are fed first in one run of a wider decoding graph (prefill), whose KV cache then seeds
// the one-token graph: a 70-character prompt costs one run and a few steps instead of 70 runs.
import type { CheckedModel } from '../../compiler/check/model.ts';
import { OFFSET_INPUT, POSITIONS_INPUT } from '../../compiler/lower/lower-model.ts';
import { Rng } from '../data/rng.ts';
import { UserError } from '../../compiler/errors.ts';
import { stateNames, type Executor } from '../exec/executor.ts';
import { compile, type CompiledProgram } from '../../compiler/compile.ts';
import { createExecutor, executorTarget, type ExecutorOptions } from '../exec/create.ts';
import type { ParamDtypes } from '../../compiler/passes/storage.ts';
import { setWeights, type WeightMap } from '../model/weights.ts';
import { checkSamplingOptions, sampleToken, type SamplingOptions } from './sampling.ts';
import { firstNonFinite } from '../model/finite.ts';
import { outputShape } from '../../compiler/ir/output-parts.ts';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Stop a row when it produces this token (e.g. a newline or EOS). */
  stopToken?: number;
  /** Stop a row when it produces any of these (a model's eos ids: generation_config.json's list). */
  stopTokens?: readonly number[];
  /**
   * Sample only ids below this (the tokenizer's ids, when the model's embedding is padded past
   * them: Qwen2.5 has 151936 rows for 151665 ids); default the whole vocabulary.
   */
  vocabLimit?: number;
  /** Called with each token as it is sampled (row of the prompt, token id), before the next step runs. */
  onToken?: (row: number, token: number) => void;
  seed?: number;
}

/** Prefill lengths are multiples of this, so a few graphs serve prompts of every length. */
export const PREFILL_BLOCK = 16;

export interface GeneratorOptions extends ExecutorOptions {
  batch: number;
  cacheLen: number;
  /** Feed the prompt positions every row has in one run (default true; false: token by token). */
  prefill?: boolean;
  /** How the base weights are stored (compile's paramDtypes): frozen 16-bit weights stay 16-bit on the device. */
  paramDtypes?: ParamDtypes;
  /**
   * Sets the base weights of each new executor before the weight maps (which then override what
   * they hold): an upload straight from a file or folder, one tensor at a time (uploadBaseWeights).
   */
  upload?: (exec: Executor) => Promise<unknown>;
}

export class Generator {
  /** Prefill executors by length, built when first needed; they get every weight the decoder gets. */
  private readonly prefills = new Map<number, Executor>();
  /** Every weight the decoder holds (the latest value of each), for prefill executors built later. */
  private readonly weights: WeightMap = new Map();

  private constructor(
    private readonly model: CheckedModel,
    private readonly exec: Executor,
    private readonly o: GeneratorOptions,
    weights: WeightMap[],
    private readonly vocab: number,
  ) {
    for (const w of weights) for (const [name, data] of w) this.weights.set(name, data);
  }

  get batch(): number {
    return this.o.batch;
  }

  get cacheLen(): number {
    return this.o.cacheLen;
  }

  /** A decoding graph of `seq` positions per run over the KV cache (1: token by token; more: prefill). */
  private static compileDecoder(model: CheckedModel, o: GeneratorOptions, seq: number): CompiledProgram {
    return compile(model, { mode: 'decode', batch: o.batch, seq, cacheLen: o.cacheLen, target: executorTarget(o), ...(o.paramDtypes ? { paramDtypes: o.paramDtypes } : {}) });
  }

  static async create(model: CheckedModel, weights: WeightMap[], o: GeneratorOptions): Promise<Generator> {
    const program = Generator.compileDecoder(model, o, 1);
    const exec = await createExecutor(program, o);
    const graph = program.graph;
    await o.upload?.(exec);
    for (const w of weights) setWeights(exec, w);
    // Logits of a split LM head are held in parts; the executor joins them when read.
    const logits = outputShape(graph, 'logits');
    return new Generator(model, exec, o, weights, logits[logits.length - 1]!);
  }

  /** Replaces weights (e.g. another adapter) without rebuilding the graph. */
  setWeights(weights: WeightMap): void {
    setWeights(this.exec, weights);
    for (const e of this.prefills.values()) setWeights(e, weights);
    for (const [name, data] of weights) this.weights.set(name, data);
  }

  private async prefillExecutor(len: number): Promise<Executor> {
    let e = this.prefills.get(len);
    if (!e) {
      e = await createExecutor(Generator.compileDecoder(this.model, this.o, len), this.o);
      await this.o.upload?.(e);
      setWeights(e, this.weights);
      this.prefills.set(len, e);
    }
    return e;
  }

  /**
   * Runs positions [0, len) of every row in one pass and copies the KV cache it wrote into the
   * one-token decoder. No logits are needed: every row still has a prompt token at position len.
   */
  private async prefill(prompts: number[][], len: number): Promise<void> {
    const e = await this.prefillExecutor(len);
    const ids = new Int32Array(this.batch * len);
    const positions = new Int32Array(this.batch * len);
    for (let r = 0; r < this.batch; r++) {
      for (let t = 0; t < len; t++) {
        ids[r * len + t] = prompts[r]?.[t] ?? 0;
        positions[r * len + t] = t;
      }
    }
    e.setInput('ids', ids);
    e.setInput(POSITIONS_INPUT, positions);
    e.setInput(OFFSET_INPUT, Int32Array.of(0));
    e.run();
    // A decoding graph's only state is its KV cache (one k and one v per attention layer).
    for (const name of stateNames(e.graph)) this.exec.setState(name, await e.getState(name));
  }

  /**
   * Generates continuations (token ids after each prompt), in the prompts' order. Batches are
   * formed from prompts sorted by length, so each batch's shortest prompt (what prefill can feed
   * at once) is close to its longest. Greedy results do not depend on the batch; sampled ones do.
   */
  async generate(prompts: number[][], o: GenerateOptions): Promise<number[][]> {
    checkSamplingOptions(o);
    if (!(Number.isInteger(o.maxNewTokens) && o.maxNewTokens >= 1)) throw new UserError(`max-new-tokens must be a positive integer, got ${o.maxNewTokens}`);
    const sampled = (o.temperature ?? 0) > 0; // greedy is the default (sampling.ts)
    const order = prompts.map((_, i) => i);
    if (!sampled) order.sort((a, b) => prompts[a]!.length - prompts[b]!.length);
    const out: number[][] = new Array(prompts.length);
    for (let start = 0; start < prompts.length; start += this.batch) {
      const ids = order.slice(start, start + this.batch);
      const results = await this.generateBatch(ids.map((i) => prompts[i]!), o, ids);
      ids.forEach((i, k) => (out[i] = results[k]!));
    }
    return out;
  }

  /** `rowIds`: each prompt's index among generate()'s prompts, for onToken. */
  private async generateBatch(prompts: number[][], o: GenerateOptions, rowIds: number[]): Promise<number[][]> {
    const rows = prompts.length;
    const longest = Math.max(...prompts.map((p) => p.length));
    if (prompts.some((p) => p.length === 0)) throw new UserError('cannot generate from an empty prompt');
    const steps = Math.min(this.cacheLen, longest + o.maxNewTokens) - 1;
    if (longest > this.cacheLen) throw new UserError(`prompt of ${longest} tokens is longer than the context (${this.cacheLen})`);
    const rng = new Rng(o.seed ?? 0);
    const stops = new Set([...(o.stopToken !== undefined ? [o.stopToken] : []), ...(o.stopTokens ?? [])]);
    const sampleVocab = Math.min(this.vocab, o.vocabLimit ?? this.vocab);
    const generated: number[][] = prompts.map(() => []);
    const done = prompts.map(() => false);
    const ids = new Int32Array(this.batch);
    const shortest = Math.min(...prompts.map((p) => p.length));
    const pre = this.o.prefill === false ? 0 : PREFILL_BLOCK * Math.floor((shortest - 1) / PREFILL_BLOCK);
    if (pre > 0) await this.prefill(prompts, pre);
    for (let t = pre; t <= steps; t++) {
      for (let r = 0; r < this.batch; r++) {
        const p = prompts[r];
        if (!p) continue; // unused row of the last batch: feeds token 0, output ignored
        ids[r] = t < p.length ? p[t]! : (generated[r]![t - p.length] ?? 0);
      }
      this.exec.setInput('ids', ids);
      this.exec.setInput(POSITIONS_INPUT, new Int32Array(this.batch).fill(t));
      this.exec.setInput(OFFSET_INPUT, Int32Array.of(t));
      this.exec.run();
      // Reading logits is the point of decoding: one readback per position.
      const logits = await this.exec.read('logits');
      for (let r = 0; r < rows; r++) {
        const p = prompts[r]!;
        if (done[r] || t < p.length - 1) continue;
        // NaN logits would pick token 0 (a NUL byte) for ever after: stop instead.
        const bad = logits instanceof Float32Array ? firstNonFinite(logits.subarray(r * this.vocab, (r + 1) * this.vocab)) : -1;
        if (bad >= 0) throw new UserError(`the model's logits at position ${t} are not finite (token ${bad} has ${logits[r * this.vocab + bad]}): the weights overflow float32 on this input`);
        const token = sampleToken(logits, o, rng, r * this.vocab, sampleVocab);
        generated[r]!.push(token);
        o.onToken?.(rowIds[r]!, token);
        if (stops.has(token) || generated[r]!.length >= o.maxNewTokens) done[r] = true;
      }
      if (done.slice(0, rows).every(Boolean)) break;
    }
    return generated;
  }

  destroy(): void {
    this.exec.destroy();
    for (const e of this.prefills.values()) e.destroy();
    this.prefills.clear();
  }
}
