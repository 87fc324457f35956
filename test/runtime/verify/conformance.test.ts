// The whole pipeline (spec -> IR -> autodiff -> AdamW -> passes -> kernels) against Hugging Face
// transformers + PEFT: every check of `rankfold verify` must pass, on the GPU and the interpreter.
import { describe, expect, it } from 'vitest';
import { verifyCase } from '../../../runtime/verify/verify-case.ts';
import { CONFORMANCE_CASES, conformanceCase } from '../../helpers/conformance.ts';
import { gpuTest } from '../../helpers/gpu.ts';

function failures(results: { check: string; pass: boolean; maxAbs: number; maxRel: number }[]): string[] {
  return results.filter((r) => !r.pass).map((r) => `${r.check}: abs ${r.maxAbs} rel ${r.maxRel}`);
}

describe('conformance with transformers + PEFT', () => {
  for (const name of CONFORMANCE_CASES) {
    it(`${name} on the interpreter`, async () => {
      const results = await verifyCase(conformanceCase(name), { backend: 'interp' });
      expect(results.length).toBeGreaterThan(20);
      expect(failures(results)).toEqual([]);
    });
    gpuTest(`${name} on WebGPU`, async (gpu) => {
      const results = await verifyCase(conformanceCase(name), { backend: 'webgpu', gpu });
      expect(results.map((r) => r.check)).toContain('grad ' + (name.startsWith('llama') ? 'model.layers.0.self_attn.q_proj.lora_A.weight' : 'transformer.h.0.attn.c_attn.lora_A.weight'));
      expect(failures(results)).toEqual([]);
    });
  }
});
