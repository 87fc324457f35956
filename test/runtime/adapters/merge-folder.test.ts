// merge / unmerge on Hugging Face model folders: the output folder has the input's tensor names,
// shapes and dtypes (bf16 stays bf16), the merged weights are W + scaling·B·A rounded to bf16, the
// untouched tensors are byte-identical, and unmerge gives the base back within bf16 rounding.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeAdapterIntoBase, unmergeAdapterFromBase } from '../../../runtime/adapters/merge-files.ts';
import { Rng } from '../../../runtime/data/rng.ts';
import { toFloat32 } from '../../../runtime/io/dtypes.ts';
import { ModelFolder } from '../../../runtime/io/model-folder.ts';
import { readAdapterDir, writeAdapterDir } from '../../../runtime/io/node-fs.ts';
import { makePeftConfig, type Adapter, type LoraModuleWeights } from '../../../runtime/io/peft.ts';
import { tmpDir, writeTinyLlamaFolder } from '../../helpers/tiny-hf-model.ts';

const MODULES = [0, 1].flatMap((i) => [`model.layers.${i}.self_attn.q_proj`, `model.layers.${i}.self_attn.v_proj`]);
const R = 4;
const ALPHA = 8;

/** A random LoRA adapter on q_proj and v_proj (width 16; v_proj has 8 outputs: one KV head of 8). */
function writeRandomAdapter(dir: string, seed = 5): string {
  const rng = new Rng(seed);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal() * 0.3);
  const tensors = new Map<string, LoraModuleWeights>();
  for (const m of MODULES) {
    const out = m.endsWith('q_proj') ? 16 : 8;
    tensors.set(m, { kind: 'linear', A: { shape: [R, 16], data: rand(R * 16) }, B: { shape: [out, R], data: rand(out * R) } });
  }
  const adapter: Adapter = { config: makePeftConfig({ r: R, lora_alpha: ALPHA, target_modules: ['q_proj', 'v_proj'], task_type: 'CAUSAL_LM' }), tensors, others: new Map() };
  writeAdapterDir(dir, adapter);
  return dir;
}

async function tensorsOf(dir: string): Promise<{ names: string[]; meta: string[]; values: Map<string, Float32Array>; bytes: Map<string, Uint8Array>; files: string[] }> {
  const f = await ModelFolder.open(dir);
  try {
    const values = new Map<string, Float32Array>();
    const bytes = new Map<string, Uint8Array>();
    for await (const [info, t] of f.stream()) {
      values.set(info.name, toFloat32(t));
      bytes.set(info.name, t.bytes);
    }
    return { names: f.tensors.map((t) => t.name).sort(), meta: f.tensors.map((t) => `${t.name}:${t.dtype}:${t.shape.join('x')}`).sort(), values, bytes, files: f.files };
  } finally {
    await f.close();
  }
}

/** W + (alpha/r)·B·A for one module, in float64. */
function expectedMerge(w: Float32Array, a: Float32Array, b: Float32Array, out: number, inF: number): Float64Array {
  const s = ALPHA / R;
  const res = new Float64Array(out * inF);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let d = 0;
      for (let k = 0; k < R; k++) d += b[o * R + k]! * a[k * inF + i]!;
      res[o * inF + i] = w[o * inF + i]! + s * d;
    }
  }
  return res;
}

describe('merge and unmerge on model folders', () => {
  it('merges a bf16 sharded folder into a bf16 folder with the same tensors; unmerge gives the base back', async () => {
    const dir = tmpDir('merge-folder');
    const base = await writeTinyLlamaFolder(path.join(dir, 'base'), { maxShardSize: 4000 });
    const adapterDir = writeRandomAdapter(path.join(dir, 'adapter'));
    const merged = path.join(dir, 'merged');
    const r = await mergeAdapterIntoBase({ model: base, adapter: adapterDir, out: merged, maxShardSize: 4000 });
    expect(r.mergedLayers).toBe(4);

    const b = await tensorsOf(base);
    const m = await tensorsOf(merged);
    expect(m.meta).toEqual(b.meta);
    expect(m.meta.every((x) => x.includes(':BF16:'))).toBe(true);
    expect(m.files.length).toBeGreaterThan(1);
    for (const f of ['model.safetensors.index.json', 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) expect(fs.existsSync(path.join(merged, f)), f).toBe(true);
    const cfg = JSON.parse(fs.readFileSync(path.join(merged, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ model_type: 'llama', torch_dtype: 'bfloat16', dtype: 'bfloat16', _name_or_path: 'tests/tiny-llama' });

    // Adapted weights: W + scaling·B·A, rounded to bf16 (half a bf16 ulp: 2^-9 relative); the rest byte for byte.
    const adapter = JSON.parse(fs.readFileSync(path.join(adapterDir, 'adapter_config.json'), 'utf8')) as { r: number };
    expect(adapter.r).toBe(R);
    const ad = readAdapterDir(adapterDir);
    let changedMax = 0;
    for (const name of b.names) {
      const module = name.replace(/\.weight$/, '');
      const t = ad.tensors.get(module);
      if (!t) {
        expect(Buffer.from(m.bytes.get(name)!).equals(Buffer.from(b.bytes.get(name)!)), name).toBe(true);
        continue;
      }
      const out = t.B.shape[0]!;
      const want = expectedMerge(b.values.get(name)!, t.A.data, t.B.data, out, 16);
      const got = m.values.get(name)!;
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(got[i]! - want[i]!), `${name}[${i}]`).toBeLessThanOrEqual(Math.abs(want[i]!) * 2 ** -8 + 1e-30);
        changedMax = Math.max(changedMax, Math.abs(got[i]! - b.values.get(name)![i]!));
      }
    }
    expect(changedMax).toBeGreaterThan(0.05); // the merge changed the adapted weights visibly

    // unmerge from the merged folder (as --model) gives the base within bf16 rounding of the merged values.
    const back = path.join(dir, 'back');
    await unmergeAdapterFromBase({ model: merged, adapter: adapterDir, out: back });
    const u = await tensorsOf(back);
    expect(u.meta).toEqual(b.meta);
    for (const name of b.names) {
      const w0 = b.values.get(name)!;
      const w1 = u.values.get(name)!;
      const mv = m.values.get(name)!;
      for (let i = 0; i < w0.length; i++) expect(Math.abs(w1[i]! - w0[i]!), `${name}[${i}]`).toBeLessThanOrEqual(Math.max(Math.abs(w0[i]!), Math.abs(mv[i]!)) * 2 ** -7 + 1e-30);
    }
    // --model gives the spec and config, --weights the merged folder: the same result.
    const back2 = path.join(dir, 'back2');
    await unmergeAdapterFromBase({ model: base, weights: merged, adapter: adapterDir, out: back2 });
    const u2 = await tensorsOf(back2);
    for (const name of b.names) expect(Buffer.from(u2.bytes.get(name)!).equals(Buffer.from(u.bytes.get(name)!)), name).toBe(true);
  });

  it('keeps a single f32 file single and f32, and the tied head left out', async () => {
    const dir = tmpDir('merge-f32');
    const base = await writeTinyLlamaFolder(path.join(dir, 'base'), { dtype: 'F32', tie: true });
    const merged = path.join(dir, 'merged');
    await mergeAdapterIntoBase({ model: base, adapter: writeRandomAdapter(path.join(dir, 'adapter')), out: merged });
    const b = await tensorsOf(base);
    const m = await tensorsOf(merged);
    expect(m.meta).toEqual(b.meta);
    expect(m.names).not.toContain('lm_head.weight');
    expect(m.files).toEqual(['model.safetensors']);
    expect(fs.existsSync(path.join(merged, 'model.safetensors.index.json'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(merged, 'config.json'), 'utf8'))).toMatchObject({ torch_dtype: 'float32', tie_word_embeddings: true });
  });

  it('refuses --config and merge --weights with --model, and leaves nothing behind on failure', async () => {
    const dir = tmpDir('merge-bad');
    const base = await writeTinyLlamaFolder(path.join(dir, 'base'));
    const adapterDir = writeRandomAdapter(path.join(dir, 'adapter'));
    const out = path.join(dir, 'out');
    await expect(mergeAdapterIntoBase({ model: base, weights: base, adapter: adapterDir, out })).rejects.toThrow(/--weights cannot be used with merge --model/);
    await expect(mergeAdapterIntoBase({ model: base, config: {}, adapter: adapterDir, out })).rejects.toThrow(/--config cannot be used with --model/);
    // An adapter for other widths fails before any file is written.
    const wrong = path.join(dir, 'wrong');
    fs.mkdirSync(wrong);
    const cfg = JSON.parse(fs.readFileSync(path.join(adapterDir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(wrong, 'adapter_config.json'), JSON.stringify({ ...cfg, target_modules: ['k_proj'] }));
    fs.copyFileSync(path.join(adapterDir, 'adapter_model.safetensors'), path.join(wrong, 'adapter_model.safetensors'));
    await expect(mergeAdapterIntoBase({ model: base, adapter: wrong, out })).rejects.toThrow(/LoRA weights for .*which the config does not adapt|no LoRA weights for module/);
    expect(fs.readdirSync(dir).sort()).toEqual(['adapter', 'base', 'wrong']);
  });
});
