// The serving engine (vLLM's LLMEngine, on Rankfold's compiled graphs): continuous batching of
// requests for any mix of adapters over one base model.
//
// Two programs are compiled once, at start, and their pipelines created then (never per request):
//   decode   batch = rows, one token per row, a KV cache row per sequence, one cache position per
//            row (rowOffsets), and on every targeted linear layer a gathered_lowrank product that
//            applies each row's own adapter (stacked adapter buffers, per-row adapter index);
//   prefill  batch 1, `prefillChunk` tokens per run, the same stacked adapters; it only writes its
//            KV cache (kvOnly: no logits), which is then copied into the sequence's row of the
//            decoding cache (on the device for WebGPU).
// A prompt of P tokens gets floor((P - 1) / chunk) prefill runs; its remaining prompt tokens are fed
// by decoding steps (at most `chunk`), the last of which gives the first sampled token. Rows not
// decoding in a step still run (the batch is fixed) with adapter index -1, and their cache write
// lands where it is overwritten before anything reads it: position 0 of a free row, and for a row
// whose sequence is still prefilling the next position its prefill copies in (causal attention only
// reads positions up to the one being written, all of which a sequence writes first).
import type { CheckedModel } from '../../compiler/check/model.ts';
import { compile, type CompiledProgram } from '../../compiler/compile.ts';
import { UserError } from '../../compiler/errors.ts';
import { ADAPTER_INDEX_INPUT, OFFSET_INPUT, POSITIONS_INPUT, type MultiAdapterOptions } from '../../compiler/lower/lower-model.ts';
import { createExecutor, executorTarget, type ExecutorOptions } from '../exec/create.ts';
import { stateNames, type Executor } from '../exec/executor.ts';
import { GpuExecutor } from '../exec/gpu-executor.ts';
import { firstNonFinite } from '../model/finite.ts';
import { requireAllSet } from '../model/weights.ts';
import { outputShape } from '../../compiler/ir/output-parts.ts';
import type { ParamDtypes } from '../../compiler/passes/storage.ts';
import type { Target } from '../../compiler/target.ts';
import { sampleToken } from '../generate/sampling.ts';
import { AdapterRegistry, type AdapterInfo } from './adapter-registry.ts';
import type { ServeModel } from './model-source.ts';
import { Scheduler } from './scheduler.ts';
import { Sequence, type GenerationRequest, type GenerationResult } from './sequence.ts';

export interface EngineOptions extends ExecutorOptions {
  /** Sequences decoded together (the decoding graph's batch). */
  rows: number;
  /** KV-cache positions per sequence: prompt plus completion. */
  maxModelLen: number;
  /** Prompt tokens per prefill run. */
  prefillChunk: number;
  /** Requests admitted at once (running and waiting); more are refused. */
  maxQueue: number;
  /** Adapter slots, maximum rank and targeted modules of the stacked adapter buffers. */
  adapters: MultiAdapterOptions;
  /**
   * What to compile for instead of the executor's target (executorTarget): tests use a small
   * maxStorageBufferBindingSize to split weights as a large vocabulary does on a real device.
   */
  target?: Target;
}

export class ShuttingDownError extends Error {
  constructor() {
    super('the server is shutting down');
    this.name = 'ShuttingDownError';
  }
}

export interface EngineStats {
  running: number;
  waiting: number;
  decodeSteps: number;
  prefillRuns: number;
  generatedTokens: number;
}

export class Engine {
  readonly registry: AdapterRegistry;
  private readonly scheduler: Scheduler;
  private readonly vocab: number;
  /** Ids sampling chooses from: [0, sampled). */
  private readonly sampled: number;
  private nextId = 1;
  private closing = false;
  /** Set by shutdown after its grace period: the loop aborts whatever is left, then ends. */
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly loopDone: Promise<void>;
  private readonly counters = { decodeSteps: 0, prefillRuns: 0, generatedTokens: 0 };

  private constructor(
    readonly model: ServeModel,
    readonly options: EngineOptions,
    private readonly decoder: Executor,
    private readonly prefiller: Executor,
  ) {
    // A split LM head's logits are held in parts (the executor joins them when read).
    const logits = outputShape(decoder.graph, 'logits');
    this.vocab = logits[logits.length - 1]!;
    // Ids past the tokenizer's (a vocabulary padded for the GPU, as Qwen2's) are never sampled: no text decodes from them.
    this.sampled = Math.min(this.vocab, model.tokenizer.vocabSize);
    this.registry = new AdapterRegistry(model.model, options.adapters, [decoder, prefiller]);
    this.scheduler = new Scheduler(options.rows, options.maxQueue, (p) => Math.floor((p - 1) / options.prefillChunk));
    this.loopDone = this.loop();
  }

  /**
   * The two graphs the engine runs (for inspection and benchmarks). With `paramDtypes` (how the
   * model's file stores its weights), frozen bf16/f16 matrices stay 16-bit on the device.
   */
  static compile(model: CheckedModel, o: EngineOptions, paramDtypes?: ParamDtypes): { decode: CompiledProgram; prefill: CompiledProgram } {
    const target = o.target ?? executorTarget(o);
    const common = { mode: 'decode' as const, cacheLen: o.maxModelLen, adapters: o.adapters, target, ...(paramDtypes ? { paramDtypes } : {}) };
    return {
      decode: compile(model, { ...common, batch: o.rows, seq: 1, rowOffsets: true }),
      prefill: compile(model, { ...common, batch: 1, seq: o.prefillChunk, kvOnly: true }),
    };
  }

  static async create(model: ServeModel, o: EngineOptions): Promise<Engine> {
    for (const [name, v] of [['rows', o.rows], ['maxModelLen', o.maxModelLen], ['prefillChunk', o.prefillChunk], ['maxQueue', o.maxQueue]] as const) {
      if (!(Number.isInteger(v) && v >= 1)) throw new UserError(`${name} must be a positive integer, got ${v}`);
    }
    if (model.maxPositions !== undefined && o.maxModelLen > model.maxPositions) {
      throw new UserError(`max model length ${o.maxModelLen} exceeds the ${model.maxPositions} positions of ${model.source}`);
    }
    if (o.prefillChunk > o.maxModelLen) throw new UserError(`prefill chunk ${o.prefillChunk} exceeds the max model length ${o.maxModelLen}`);
    const programs = Engine.compile(model.model, o, model.paramDtypes);
    const decoder = await createExecutor(programs.decode, o);
    const prefiller = await createExecutor(programs.prefill, o).catch((err: unknown) => {
      decoder.destroy();
      throw err;
    });
    try {
      // From the file to both programs, tensor by tensor, as stored (a bf16 weight stays bf16).
      const base = await model.uploadWeights([decoder, prefiller]);
      const engine = new Engine(model, o, decoder, prefiller);
      const stacked = engine.registry.stackedParamNames();
      for (const e of [decoder, prefiller]) requireAllSet(e, [...base, ...stacked]);
      return engine;
    } catch (err) {
      decoder.destroy();
      prefiller.destroy();
      throw err;
    }
  }

  get stats(): EngineStats {
    const all = this.scheduler.all();
    return { running: all.filter((s) => s.row >= 0).length, waiting: all.filter((s) => s.row < 0).length, ...this.counters };
  }

  get maxQueue(): number {
    return this.scheduler.maxQueue;
  }

  /** Adapters by name, with their slots. */
  adapters(): AdapterInfo[] {
    return this.registry.list();
  }

  loadAdapter(name: string, dir: string): AdapterInfo {
    if (this.closing) throw new ShuttingDownError();
    return this.registry.load(name, dir);
  }

  unloadAdapter(name: string): { active: number } {
    return this.registry.unload(name);
  }

  /**
   * Queues a generation. Throws at once (nothing queued) when the queue is full (QueueFullError),
   * the adapter is unknown (AdapterError 404), the request is malformed (UserError) or the engine
   * is shutting down; otherwise resolves when the request finishes, is aborted or fails.
   */
  submit(req: GenerationRequest): Promise<GenerationResult> {
    if (this.closing) throw new ShuttingDownError();
    const seq = new Sequence(this.nextId++, req, this.model.tokenizer);
    const bad = req.prompt.find((t) => !(Number.isInteger(t) && t >= 0 && t < this.vocab));
    if (bad !== undefined) throw new UserError(`the prompt has token id ${bad}; the model's vocabulary has ${this.vocab} ids`);
    if (seq.promptLength >= this.options.maxModelLen) {
      throw new UserError(`the prompt has ${seq.promptLength} tokens; this server's context is ${this.options.maxModelLen} tokens (--max-model-len), leaving no room to generate`);
    }
    if (req.adapter !== undefined) seq.adapterSlot = this.registry.acquire(req.adapter);
    try {
      this.scheduler.admit(seq);
    } catch (err) {
      if (seq.adapterSlot >= 0) this.registry.release(seq.adapterSlot);
      throw err;
    }
    req.signal?.addEventListener('abort', () => this.kick(), { once: true });
    this.kick();
    return seq.done;
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Only the loop ends sequences, between steps or at the end of one. */
  private end(seq: Sequence, how: { reason: 'stop' | 'length' | 'abort'; abortReason?: unknown } | { error: unknown }): void {
    this.scheduler.remove(seq);
    if (seq.adapterSlot >= 0) this.registry.release(seq.adapterSlot);
    seq.adapterSlot = -1;
    if ('error' in how) return seq.fail(how.error);
    try {
      seq.finish(how.reason, how.abortReason);
    } catch (err) {
      seq.fail(err); // detokenizing the tail failed: the request fails, the engine goes on
    }
  }

  private async loop(): Promise<void> {
    for (;;) {
      try {
        if (await this.iteration()) return;
      } catch (err) {
        // A bug of the engine's own: fail what it serves rather than hang every request.
        for (const s of this.scheduler.all()) this.end(s, { error: err });
      }
    }
  }

  /** One pass of the loop; true when the engine is closed. */
  private async iteration(): Promise<boolean> {
    const closed = this.closed;
    for (const s of this.scheduler.all()) {
      if (s.aborted) this.end(s, { reason: 'abort' });
      else if (closed) this.end(s, { reason: 'abort', abortReason: 'shutdown' });
    }
    if (closed) return true;
    if (this.scheduler.idle) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      return false;
    }
    const plan = this.scheduler.plan();
    try {
      if (plan.prefill) await this.prefillChunk(plan.prefill);
      // A prompt whose prefill just ended decodes in this step already.
      const decode = plan.prefill?.phase === 'decode' ? [...plan.decode, plan.prefill] : plan.decode;
      if (decode.length > 0) await this.decodeStep(decode);
    } catch (err) {
      // A failed run (device lost, out of memory) fails the requests it served, not the server.
      for (const s of [...(plan.prefill ? [plan.prefill] : []), ...plan.decode]) this.end(s, { error: err });
    }
    // Let the HTTP side run between steps (the interpreter never yields on its own).
    await new Promise<void>((resolve) => setImmediate(resolve));
    return false;
  }

  /** One chunk of a prompt through the prefill graph; after the last, its KV cache moves to the sequence's row. */
  private async prefillChunk(seq: Sequence): Promise<void> {
    const C = this.options.prefillChunk;
    const start = seq.prefilled;
    const e = this.prefiller;
    e.setInput('ids', Int32Array.from(seq.tokens.slice(start, start + C)));
    e.setInput(POSITIONS_INPUT, Int32Array.from({ length: C }, (_, t) => start + t));
    e.setInput(OFFSET_INPUT, Int32Array.of(start));
    e.setInput(ADAPTER_INDEX_INPUT, Int32Array.of(seq.adapterSlot));
    e.run();
    this.counters.prefillRuns++;
    seq.prefilled += C;
    if (seq.prefilled < C * Math.floor((seq.promptLength - 1) / C)) return;
    await this.copyCache(seq.row, seq.prefilled);
    seq.pos = seq.prefilled;
    seq.phase = 'decode';
  }

  /** Positions [0, count) of the prefill cache into row `row` of the decoding cache, for every layer. */
  private async copyCache(row: number, count: number): Promise<void> {
    for (const name of stateNames(this.prefiller.graph)) {
      const node = this.prefiller.graph.nodes.find((n) => n.op === 'state' && (n.attrs as { name: string }).name === name)!;
      const [, L, D] = node.type.shape as [number, number, number];
      const at = { from: 0, to: row * L * D, count: count * D };
      if (this.decoder instanceof GpuExecutor && this.prefiller instanceof GpuExecutor) {
        this.decoder.program.copyStateFrom(this.prefiller.program, name, at);
      } else {
        const data = await this.prefiller.getState(name);
        this.decoder.setState(name, data.subarray(0, at.count), at.to);
      }
    }
  }

  /**
   * One token for every decoding row: prompt tokens past the prefill, then sampled ones. Every other
   * row writes its cache where that is harmless (see the header): a row still prefilling at the end
   * of what its prefill has written so far, which the copy overwrites.
   */
  private async decodeStep(rows: Sequence[]): Promise<void> {
    const B = this.options.rows;
    const ids = new Int32Array(B);
    const pos = new Int32Array(B);
    const index = new Int32Array(B).fill(-1);
    for (const s of this.scheduler.all()) if (s.phase === 'prefill' && s.row >= 0) pos[s.row] = s.prefilled;
    for (const s of rows) {
      ids[s.row] = s.tokens[s.pos]!;
      pos[s.row] = s.pos;
      index[s.row] = s.adapterSlot;
    }
    const e = this.decoder;
    e.setInput('ids', ids);
    e.setInput(POSITIONS_INPUT, pos);
    e.setInput(OFFSET_INPUT, pos);
    e.setInput(ADAPTER_INDEX_INPUT, index);
    e.run();
    this.counters.decodeSteps++;
    const logits = (await e.read('logits')) as Float32Array;
    const V = this.vocab;
    for (const s of rows) {
      s.pos++;
      if (s.pos < s.promptLength) continue; // still feeding the prompt
      const at = s.row * V;
      const bad = firstNonFinite(logits.subarray(at, at + V));
      if (bad >= 0) {
        this.end(s, { error: new Error(`the model's logits at position ${s.pos - 1} are not finite (token ${bad} has ${logits[at + bad]})`) });
        continue;
      }
      const token = sampleToken(logits, { temperature: s.req.temperature, topP: s.req.topP }, s.rng, at, this.sampled);
      this.counters.generatedTokens++;
      try {
        const reason = s.accept(token) ?? (s.pos >= this.options.maxModelLen ? 'length' : undefined);
        if (reason) this.end(s, { reason });
      } catch (err) {
        this.end(s, { error: err }); // this request's own failure (detokenizing, its stream callback)
      }
    }
  }

  /**
   * Stops taking requests, lets those admitted finish for up to `graceMs`, aborts the rest (they
   * finish with reason 'abort' and abortReason 'shutdown', keeping the text made so far), and
   * releases the device programs.
   */
  async shutdown(o: { graceMs: number }): Promise<void> {
    if (this.closing) return this.loopDone;
    this.closing = true;
    const deadline = Date.now() + o.graceMs;
    while (!this.scheduler.idle && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.closed = true;
    this.kick();
    await this.loopDone;
    this.decoder.destroy();
    this.prefiller.destroy();
  }
}
