// Text generation with a KV cache. All prompts of a batch advance together, one position per run
// of the decoding graph: row i feeds its own prompt token while t < its prompt length and its last
// sampled token after, so prompts of different lengths share one cache offset and one dispatch list.
import type { CheckedModel } from '../../compiler/check/model.ts';
import { OFFSET_INPUT, POSITIONS_INPUT } from '../../compiler/lower/lower-model.ts';
import { Rng } from '../data/rng.ts';
import { UserError } from '../errors.ts';
import type { Executor } from '../exec/executor.ts';
import { buildGraph, createExecutor, type ExecutorOptions } from '../model/build.ts';
import { setWeights, type WeightMap } from '../model/weights.ts';
import { sampleToken, type SamplingOptions } from './sampling.ts';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Stop a row when it produces this token (e.g. a newline or EOS). */
  stopToken?: number;
  seed?: number;
}

export class Generator {
  private constructor(
    private readonly exec: Executor,
    readonly batch: number,
    readonly cacheLen: number,
    private readonly vocab: number,
  ) {}

  static async create(model: CheckedModel, weights: WeightMap[], o: ExecutorOptions & { batch: number; cacheLen: number }): Promise<Generator> {
    const graph = buildGraph(model, { mode: 'decode', batch: o.batch, seq: 1, cacheLen: o.cacheLen });
    const exec = await createExecutor(graph, o);
    for (const w of weights) setWeights(exec, w);
    const logits = graph.nodes[graph.outputs['logits']!]!;
    return new Generator(exec, o.batch, o.cacheLen, logits.type.shape[logits.type.shape.length - 1]!);
  }

  /** Replaces weights (e.g. another adapter) without rebuilding the graph. */
  setWeights(weights: WeightMap): void {
    setWeights(this.exec, weights);
  }

  /** Generates continuations (token ids after each prompt). */
  async generate(prompts: number[][], o: GenerateOptions): Promise<number[][]> {
    const out: number[][] = [];
    for (let start = 0; start < prompts.length; start += this.batch) {
      out.push(...(await this.generateBatch(prompts.slice(start, start + this.batch), o)));
    }
    return out;
  }

  private async generateBatch(prompts: number[][], o: GenerateOptions): Promise<number[][]> {
    const rows = prompts.length;
    const longest = Math.max(...prompts.map((p) => p.length));
    if (prompts.some((p) => p.length === 0)) throw new UserError('cannot generate from an empty prompt');
    const steps = Math.min(this.cacheLen, longest + o.maxNewTokens) - 1;
    if (longest > this.cacheLen) throw new UserError(`prompt of ${longest} tokens is longer than the context (${this.cacheLen})`);
    const rng = new Rng(o.seed ?? 0);
    const generated: number[][] = prompts.map(() => []);
    const done = prompts.map(() => false);
    const ids = new Int32Array(this.batch);
    for (let t = 0; t <= steps; t++) {
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
        const token = sampleToken(logits, o, rng, r * this.vocab, this.vocab);
        generated[r]!.push(token);
        if (token === o.stopToken || generated[r]!.length >= o.maxNewTokens) done[r] = true;
      }
      if (done.slice(0, rows).every(Boolean)) break;
    }
    return generated;
  }

  destroy(): void {
    this.exec.destroy();
  }
}
