// The serving engine on a tiny Llama-shaped folder (random weights, the real Llama-3.2 tokenizer):
// requests for different adapters decoded in one batch give each adapter's own greedy output, equal
// to that adapter decoded alone and to the single-adapter generator; chunked prefill gives the same
// tokens as feeding the prompt token by token; admission, aborts and adapter slots.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine, type EngineOptions } from '../../../runtime/serve/engine.ts';
import { loadModelFolder, type ServeModel } from '../../../runtime/serve/model-source.ts';
import { QueueFullError } from '../../../runtime/serve/scheduler.ts';
import { AdapterError } from '../../../runtime/serve/adapter-registry.ts';
import type { GenerationRequest } from '../../../runtime/serve/sequence.ts';
import { Generator } from '../../../runtime/generate/generator.ts';
import { applyPeftConfig } from '../../../runtime/adapters/apply-peft.ts';
import { readAdapterDir } from '../../../runtime/io/node-fs.ts';
import { adapterWeights } from '../../../runtime/adapters/adapter-weights.ts';
import type { GpuContext } from '../../../runtime/device/device.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { SERVE_FAMILIES, writeRandomAdapter, writeTinyFolder, type Family } from '../../helpers/serve-fixtures.ts';
import { tmpDir } from '../train/fixtures.ts';

interface Setup {
  model: ServeModel;
  adapters: { a: string; b: string };
}

async function setup(family: Family): Promise<Setup> {
  const dir = tmpDir(`serve-${family}`);
  const model = await loadModelFolder(writeTinyFolder(path.join(dir, 'model'), family));
  // Different targets and ranks: a on q/v at rank 4, b on every linear layer at rank 8.
  const a = writeRandomAdapter(path.join(dir, 'a'), model.model, { targets: ['q_proj', 'v_proj'], r: 4, seed: 11 });
  const b = writeRandomAdapter(path.join(dir, 'b'), model.model, { targets: 'all-linear', r: 8, seed: 12 });
  return { model, adapters: { a, b } };
}

function options(backend: 'webgpu' | 'interp', gpu?: GpuContext, over: Partial<EngineOptions> = {}): EngineOptions {
  return {
    backend,
    ...(gpu ? { gpu } : {}),
    rows: 4,
    maxModelLen: 64,
    prefillChunk: 4,
    maxQueue: 8,
    adapters: { slots: 3, maxRank: 8, targets: ['all-linear'] },
    ...over,
  };
}

const greedy = (prompt: number[], adapter?: string, maxTokens = 6): GenerationRequest => ({ prompt, maxTokens, temperature: 0, topP: 1, ...(adapter ? { adapter } : {}) });

/** The classic path: one adapter applied by the spec's LoRA lowering, batch 1, the Generator. */
async function generatorTokens(s: Setup, dir: string | undefined, prompt: number[], n: number, backend: 'webgpu' | 'interp', gpu?: GpuContext): Promise<number[]> {
  const adapter = dir ? readAdapterDir(dir) : undefined;
  const model = adapter ? applyPeftConfig(s.model.model, adapter.config) : s.model.model;
  const weights = [await s.model.decodeWeights(), ...(adapter ? [adapterWeights(model, adapter, dir!)] : [])];
  const gen = await Generator.create(model, weights, { backend, ...(gpu ? { gpu } : {}), batch: 1, cacheLen: 64 });
  try {
    return (await gen.generate([prompt], { maxNewTokens: n }))[0]!;
  } finally {
    gen.destroy();
  }
}

async function mixedBatch(family: Family, backend: 'webgpu' | 'interp', gpu?: GpuContext): Promise<void> {
  const s = await setup(family);
  const tok = s.model.tokenizer;
  const prompt = [tok.bos!, ...tok.encode('The quick brown fox jumps over')].filter((t) => t !== undefined);
  const engine = await Engine.create(s.model, options(backend, gpu));
  try {
    engine.loadAdapter('a', s.adapters.a);
    engine.loadAdapter('b', s.adapters.b);
    // Together: base, a and b in one decoding batch.
    const together = await Promise.all([engine.submit(greedy(prompt)), engine.submit(greedy(prompt, 'a')), engine.submit(greedy(prompt, 'b'))]);
    const ids = together.map((r) => r.tokens);
    expect(new Set(ids.map((t) => t.join(','))).size, 'base, a and b answer differently').toBe(3);
    // Alone: the same tokens.
    for (const [i, name] of ([undefined, 'a', 'b'] as const).entries()) {
      const alone = await engine.submit(greedy(prompt, name));
      expect(alone.tokens, `${name ?? 'base'} alone`).toEqual(ids[i]);
      expect(alone.text).toBe(together[i]!.text);
    }
    // The single-adapter generator (the spec's LoRA lowering, fused kernels) agrees.
    expect(await generatorTokens(s, s.adapters.a, prompt, 6, backend, gpu)).toEqual(ids[1]);
    expect(await generatorTokens(s, undefined, prompt, 6, backend, gpu)).toEqual(ids[0]);
    expect(together[1]).toMatchObject({ finishReason: 'length', promptTokens: prompt.length, completionTokens: 6 });
    expect(engine.stats.prefillRuns).toBeGreaterThan(0);
  } finally {
    await engine.shutdown({ graceMs: 0 });
  }
}

describe('serving engine', () => {
  for (const family of SERVE_FAMILIES) {
    gpuTest(`${family}: different adapters in one batch answer as each does alone (WebGPU)`, (gpu) => mixedBatch(family, 'webgpu', gpu));
    it(`${family}: different adapters in one batch answer as each does alone (interpreter)`, () => mixedBatch(family, 'interp'));
  }

  gpuTest('chunked prefill gives the tokens of feeding the prompt token by token', async (gpu) => {
    const s = await setup('llama');
    const prompt = [128000, ...s.model.tokenizer.encode('one two three four five six seven eight nine ten eleven')];
    const run = async (prefillChunk: number) => {
      const engine = await Engine.create(s.model, options('webgpu', gpu, { prefillChunk }));
      try {
        engine.loadAdapter('b', s.adapters.b);
        return (await engine.submit(greedy(prompt, 'b', 5))).tokens;
      } finally {
        await engine.shutdown({ graceMs: 0 });
      }
    };
    expect(prompt.length).toBeGreaterThan(9);
    expect(await run(4)).toEqual(await run(64));
  });

  gpuTest('admission: at most maxQueue requests at once; aborts and adapter slots', async (gpu) => {
    const s = await setup('llama');
    const engine = await Engine.create(s.model, options('webgpu', gpu, { maxQueue: 2, rows: 2 }));
    try {
      engine.loadAdapter('a', s.adapters.a);
      const long = new AbortController();
      const first = engine.submit({ ...greedy([128000, 40, 41], 'a', 40), signal: long.signal });
      const second = engine.submit(greedy([128000, 42], undefined, 2));
      expect(() => engine.submit(greedy([128000, 43]))).toThrow(QueueFullError);
      expect(await second).toMatchObject({ finishReason: 'length', completionTokens: 2 });
      // An adapter in use is unloaded at once by name; its slot frees when the request ends.
      expect(engine.unloadAdapter('a')).toEqual({ active: 1 });
      expect(() => engine.submit(greedy([128000], 'a'))).toThrow(AdapterError);
      long.abort('client gone');
      const r = await first;
      expect(r).toMatchObject({ finishReason: 'abort', abortReason: 'client gone' });
      expect(r.completionTokens).toBeLessThan(40);
      // Three slots: a's is free again once its request ended.
      engine.loadAdapter('b', s.adapters.b);
      engine.loadAdapter('a2', s.adapters.a);
      engine.loadAdapter('a3', s.adapters.a);
      expect(() => engine.loadAdapter('a4', s.adapters.a)).toThrow(/no free adapter slot: all 3 are in use/);
      expect(engine.adapters().map((a) => [a.name, a.slot])).toEqual([['b', 0], ['a2', 1], ['a3', 2]]);
    } finally {
      await engine.shutdown({ graceMs: 0 });
    }
  });

  it('refuses adapters that do not fit the stacked slots, naming why', async () => {
    const s = await setup('llama');
    const dir = tmpDir('serve-bad');
    const engine = await Engine.create(s.model, options('interp', undefined, { adapters: { slots: 2, maxRank: 4, targets: ['q_proj', 'v_proj'] } }));
    try {
      expect(() => engine.loadAdapter('b', s.adapters.b)).toThrow(/targets model\.layers\.0\.self_attn\.k_proj, .* which the server has no adapter slots for \(--lora-targets q_proj,v_proj\)/);
      const big = writeRandomAdapter(path.join(dir, 'big'), s.model.model, { targets: ['q_proj'], r: 8, seed: 1 });
      expect(() => engine.loadAdapter('big', big)).toThrow(/rank 8 \(model\.layers\.0\.self_attn\.q_proj\) exceeds the server's maximum rank 4 \(--max-lora-rank\)/);
      expect(() => engine.loadAdapter('x', path.join(dir, 'none'))).toThrow(/no such adapter directory/);
      expect(() => engine.loadAdapter('bad name', s.adapters.a)).toThrow(/adapter name "bad name" must be/);
      // What changes the base per adapter cannot share a batch: refused by name.
      const variant = (key: string, value: unknown): string => {
        const d = path.join(dir, `variant-${key}`);
        fs.cpSync(s.adapters.a, d, { recursive: true });
        const file = path.join(d, 'adapter_config.json');
        fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), [key]: value }));
        return d;
      };
      expect(() => engine.loadAdapter('m', variant('modules_to_save', ['lm_head']))).toThrow(/modules_to_save \(lm_head\) are not served/);
      expect(() => engine.loadAdapter('m', variant('bias', 'all'))).toThrow(/train biases \(bias="all"\) are not served/);
      expect(() => engine.loadAdapter('m', variant('init_lora_weights', 'pissa'))).toThrow(/"pissa" adapters change the base weights/);
      expect(() => engine.loadAdapter('m', variant('target_modules', ['embed_tokens', 'q_proj']))).toThrow(/adapts the embedding model\.embed_tokens/);
      expect(() => engine.loadAdapter('m', variant('use_dora', true))).toThrow(/DoRA magnitude/);
      engine.loadAdapter('a', s.adapters.a);
      expect(() => engine.loadAdapter('a', s.adapters.a)).toThrow(/already loaded/);
      expect(() => engine.unloadAdapter('zz')).toThrow(/no adapter named "zz"/);
    } finally {
      await engine.shutdown({ graceMs: 0 });
    }
  });
});
