// The serving engine on a bf16 folder, as most checkpoints on the Hub are stored: frozen weight
// matrices stay bf16 on the device (uploaded as stored, never decoded to f32 on the host), and with
// a storage binding small enough that the embedding and the LM head are split into row chunks (as a
// 152k vocabulary is on a real device), an adapter on the LM head still decodes in the mixed batch,
// giving the tokens of the unsplit engine. A spec with --weights reads the same file the same way.
import * as path from 'node:path';
import { describe, expect } from 'vitest';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import { makeTarget } from '../../../compiler/target.ts';
import { Engine, type EngineOptions } from '../../../runtime/serve/engine.ts';
import { loadModelFolder, loadSpecModel, type ServeModel } from '../../../runtime/serve/model-source.ts';
import type { GenerationRequest } from '../../../runtime/serve/sequence.ts';
import { targetFor } from '../../../runtime/device/target.ts';
import { specForModelType } from '../../../runtime/model/load-spec.ts';
import type { GpuContext } from '../../../runtime/device/device.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { writeRandomAdapter, writeTinyFolder } from '../../helpers/serve-fixtures.ts';
import { tmpDir } from '../train/fixtures.ts';

/** 4 MiB: the tiny Llama's 128256 x 32 bf16 embedding (8 MB, tied to the LM head) is split in 2. */
const SMALL_BINDING = 4 << 20;

function options(gpu: GpuContext, small: boolean): EngineOptions {
  const device = targetFor(gpu);
  return {
    backend: 'webgpu',
    gpu,
    rows: 2,
    maxModelLen: 32,
    prefillChunk: 4,
    maxQueue: 4,
    // The LM head among the stacked targets: its stacked B [2, 128256, 4] (4.1 MB) still fits one binding.
    adapters: { slots: 2, maxRank: 4, targets: ['all-linear', 'lm_head'] },
    ...(small ? { target: makeTarget(device.kind, { limits: { ...device.limits, maxStorageBufferBindingSize: SMALL_BINDING }, features: device.features }) } : {}),
  };
}

const greedy = (prompt: number[], adapter?: string): GenerationRequest => ({ prompt, maxTokens: 5, temperature: 0, topP: 1, ...(adapter ? { adapter } : {}) });

/** Base and adapter `c` in one batch: their greedy tokens. */
async function serve(model: ServeModel, adapter: string, o: EngineOptions): Promise<number[][]> {
  const engine = await Engine.create(model, o);
  try {
    engine.loadAdapter('c', adapter);
    const prompt = [128000, ...model.tokenizer.encode('The quick brown fox')];
    return (await Promise.all([engine.submit(greedy(prompt)), engine.submit(greedy(prompt, 'c'))])).map((r) => r.tokens);
  } finally {
    await engine.shutdown({ graceMs: 0 });
  }
}

describe('serving bf16 weights', () => {
  gpuTest('bf16 matrices stay bf16; a split embedding and LM head (with an adapter on it) decode as unsplit', async (gpu) => {
    const dir = tmpDir('serve-bf16');
    const folder = writeTinyFolder(path.join(dir, 'model'), 'llama', 1, { dtype: 'BF16' });
    const model = await loadModelFolder(folder);
    expect(model.paramDtypes['model.layers.0.self_attn.q_proj.weight']).toBe('bf16');
    expect(model.paramDtypes['model.embed_tokens.weight']).toBe('bf16');
    const c = writeRandomAdapter(path.join(dir, 'c'), model.model, { targets: ['q_proj', 'v_proj', 'lm_head'], r: 4, seed: 13 });

    const small = options(gpu, true);
    const { decode, prefill } = Engine.compile(model.model, small, model.paramDtypes);
    const params = decode.graph.nodes.filter((n) => n.op === 'param').map((n) => n.attrs as OpAttrs['param']);
    expect(params.find((p) => p.name === 'model.layers.0.mlp.down_proj.weight')?.dtype).toBe('bf16');
    expect(params.filter((p) => p.rows?.of === 'model.embed_tokens.weight')).toHaveLength(2);
    expect(decode.graph.outputParts?.['logits']).toHaveLength(2);
    expect(decode.graph.nodes.filter((n) => n.op === 'gathered_lowrank' && n.label?.startsWith('lm_head.'))).toHaveLength(2);
    expect(prefill.graph.outputs['logits']).toBeUndefined(); // kvOnly: no LM head at all

    const split = await serve(model, c, small);
    expect(split[1], 'the adapter changes the answer').not.toEqual(split[0]);
    expect(split).toEqual(await serve(model, c, options(gpu, false)));

    // A spec with --weights and --tokenizer reads the same bf16 file, as stored.
    const fromSpec = await loadSpecModel({ spec: specForModelType('llama'), weights: path.join(folder, 'model.safetensors'), tokenizer: folder, config: path.join(folder, 'config.json') });
    expect(fromSpec.paramDtypes).toEqual(model.paramDtypes);
    expect(await serve(fromSpec, c, small)).toEqual(split);
  }, 240_000);
});
