// The whole pipeline (spec -> IR -> autodiff -> AdamW -> passes -> kernels) against Hugging Face
// transformers + PEFT: every check of `rankfold verify` must pass, on the GPU and the interpreter.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { verifyCase } from '../../../runtime/verify/verify-case.ts';
import { CONFORMANCE_CASES, conformanceCase } from '../../helpers/conformance.ts';
import { gpuTest } from '../../helpers/gpu.ts';

function failures(results: { check: string; pass: boolean; maxAbs: number; maxRel: number }[]): string[] {
  return results.filter((r) => !r.pass).map((r) => `${r.check}: abs ${r.maxAbs} rel ${r.maxRel}`);
}

describe('verify reads the reference dtype', () => {
  it('a compute dtype without tolerances is an error naming it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rankfold-case-'));
    try {
      fs.cpSync(conformanceCase('llama_qv_r4'), dir, { recursive: true });
      const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
      fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify({ ...expected, compute_dtype: 'float16' }));
      await expect(verifyCase(dir, { backend: 'interp' })).rejects.toThrow(/compute_dtype "float16" has no tolerances \(known: float32, bfloat16\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('conformance with transformers + PEFT', () => {
  for (const name of CONFORMANCE_CASES) {
    it(`${name} on the interpreter`, async () => {
      const notes: string[] = [];
      const results = await verifyCase(conformanceCase(name), { backend: 'interp', onNote: (t) => notes.push(t) });
      expect(results.length).toBeGreaterThan(20);
      expect(failures(results)).toEqual([]);
      // The spec of the config's model_type read every key of the transformers-written config.
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(/^spec \S+\.rf; base stored as F32, reference computed in float32: tolerances logits\/loss 0.0001\/0.0001 abs/);
    });
    gpuTest(`${name} on WebGPU`, async (gpu) => {
      const results = await verifyCase(conformanceCase(name), { backend: 'webgpu', gpu });
      expect(results.map((r) => r.check)).toContain('grad ' + (name.startsWith('llama') ? 'model.layers.0.self_attn.q_proj.lora_A.weight' : 'transformer.h.0.attn.c_attn.lora_A.weight'));
      expect(failures(results)).toEqual([]);
    });
  }
});
