// Base weights uploaded straight from a bf16 Hugging Face folder (two shards): one tensor, or one row
// chunk of a split tensor, read at a time; 16-bit frozen weights uploaded as stored; the result equals
// the interpreter fed the same (widened) values; a NaN in a chunk is refused naming its element.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../../compiler/compile.ts';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { makeTarget } from '../../../compiler/target.ts';
import { createExecutor } from '../../../runtime/exec/create.ts';
import { InterpExecutor } from '../../../runtime/exec/interp-executor.ts';
import type { Executor } from '../../../runtime/exec/executor.ts';
import { ModelFolder } from '../../../runtime/io/model-folder.ts';
import { writeModelFolder } from '../../../runtime/io/model-folder-write.ts';
import { fromFloat32, toFloat32 } from '../../../runtime/io/dtypes.ts';
import { targetFor } from '../../../runtime/device/target.ts';
import { baseParamDtypes, uploadBaseWeights, type TensorReader } from '../../../runtime/model/upload.ts';
import { baseWeights, requireAllSet, setWeights } from '../../../runtime/model/weights.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { expectClose } from '../../compiler/emit/gpu/op-harness.ts';
import { LIMIT, SHAPE, TINY_TARGET, feed, tinyLlama, weightsFor } from '../../helpers/tiny-split.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-upload-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The model's base weights as a bf16 folder in two shards; `poison` puts a NaN at a flat index of a tensor. */
async function bf16Folder(model: CheckedModel, tag: string, poison?: { name: string; index: number }): Promise<string> {
  const dir = path.join(tmp, tag);
  const [base] = weightsFor(model);
  const sources = baseWeights(model).map((w) => ({
    name: w.name, dtype: 'BF16' as const, shape: w.shape,
    read: async () => {
      const data = base!.get(w.name)!.slice();
      if (poison?.name === w.name) data[poison.index] = NaN;
      return fromFloat32(data, 'BF16', w.shape);
    },
  }));
  await writeModelFolder(dir, sources, { config: { model_type: 'llama', torch_dtype: 'bfloat16', tie_word_embeddings: false }, maxShardSize: 12_000 });
  return dir;
}

/** A reader that records the largest read it served. */
function counting(folder: ModelFolder): TensorReader & { largest: number } {
  const r = {
    largest: 0,
    has: (n: string) => folder.has(n),
    info: (n: string) => folder.info(n),
    read: async (n: string) => {
      const t = await folder.read(n);
      r.largest = Math.max(r.largest, t.bytes.byteLength);
      return t;
    },
    readBytes: async (n: string, s: number, l: number) => {
      r.largest = Math.max(r.largest, l);
      return folder.readBytes(n, s, l);
    },
  };
  return r;
}

/** The interpreter, unsplit, with the folder's values widened to f32 (it rounds 16-bit weights itself, a no-op here). */
async function reference(model: CheckedModel, folder: ModelFolder): Promise<Executor> {
  const exec = new InterpExecutor(compile(model, { mode: 'eval', ...SHAPE, paramDtypes: baseParamDtypes(model, folder), stopAfter: 'passes' }).graph, 'f64');
  for (const w of baseWeights(model)) setWeights(exec, new Map([[w.name, toFloat32(await folder.read(w.name))]]));
  setWeights(exec, weightsFor(model)[1]!);
  feed(exec);
  exec.run();
  return exec;
}

describe('uploadBaseWeights', () => {
  it('reads one chunk at a time from a sharded bf16 folder; the split program equals the unsplit one', async () => {
    const model = tinyLlama(false);
    const folder = await ModelFolder.open(await bf16Folder(model, 'interp'));
    expect(folder.files).toHaveLength(2);
    const dtypes = baseParamDtypes(model, folder);
    expect(dtypes['lm_head.weight']).toBe('bf16');
    const exec = new InterpExecutor(compile(model, { mode: 'eval', ...SHAPE, paramDtypes: dtypes, target: TINY_TARGET, stopAfter: 'passes' }).graph, 'f64');
    const source = counting(folder);
    const set = await uploadBaseWeights(exec, model, source, folder.dir);
    set.push(...setWeights(exec, weightsFor(model)[1]!));
    requireAllSet(exec, set);
    // The 300 x 16 bf16 embedding (9,600 bytes) came in 3 chunks; nothing read was larger than one.
    expect(set.filter((p) => p.startsWith('model.embed_tokens.weight['))).toHaveLength(3);
    expect(source.largest).toBeLessThanOrEqual(LIMIT);
    feed(exec);
    exec.run();
    const ref = await reference(model, folder);
    expectClose(await exec.read('logits'), await ref.read('logits'), { rtol: 1e-9, atol: 1e-12 }, 'logits');
    await folder.close();
  });

  it('refuses a NaN in a chunk, naming the tensor and its element in the whole tensor', async () => {
    const model = tinyLlama(false);
    const folder = await ModelFolder.open(await bf16Folder(model, 'nan', { name: 'model.embed_tokens.weight', index: 200 * 16 + 5 }));
    const exec = new InterpExecutor(compile(model, { mode: 'eval', ...SHAPE, paramDtypes: baseParamDtypes(model, folder), target: TINY_TARGET, stopAfter: 'passes' }).graph);
    await expect(uploadBaseWeights(exec, model, folder, folder.dir)).rejects.toThrow(/tensor "model.embed_tokens.weight" holds NaN at index 3205 \(element \[200, 5\]\)/);
    await folder.close();
  });

  gpuTest('on the GPU: frozen matrices stay bf16 (stored bytes), split at a 4 KiB binding, logits equal the interpreter', async (gpu) => {
    const model = tinyLlama(false);
    const folder = await ModelFolder.open(await bf16Folder(model, 'gpu'));
    const target = makeTarget(targetFor(gpu).kind, { limits: { ...targetFor(gpu).limits, maxStorageBufferBindingSize: LIMIT }, features: targetFor(gpu).features });
    const program = compile(model, { mode: 'eval', ...SHAPE, paramDtypes: baseParamDtypes(model, folder), target });
    const half = program.graph.nodes.filter((n) => n.op === 'param' && (n.attrs as OpAttrs['param']).dtype === 'bf16');
    expect(half.length).toBeGreaterThan(5);
    const exec = await createExecutor(program, { backend: 'webgpu', gpu });
    const set = await uploadBaseWeights(exec, model, folder, folder.dir);
    set.push(...setWeights(exec, weightsFor(model)[1]!));
    requireAllSet(exec, set);
    feed(exec);
    exec.run();
    const ref = await reference(model, folder);
    expectClose(await exec.read('logits'), await ref.read('logits'), { rtol: 1e-3, atol: 1e-5 }, 'logits');
    exec.destroy();
    await folder.close();
  });
});
