// Item 1's numbers come from the compiler alone, so they can be checked exactly: GPT-3 175B with
// LoRA r=4 on Wq and Wv has 96·2·(12288·4 + 4·12288) adapter parameters, and Adam keeps two
// moments per trained weight.
import { describe, expect, it } from 'vitest';
import { fp16, memoryAtScale, PAPER_SCALE } from '../../../apps/experiments/scale.ts';

describe('memory at paper scale (GPT-3 175B)', () => {
  // The whole 96-layer model at a short sequence: weights and optimizer state do not depend on it.
  const r = memoryAtScale({ seq: 128 });

  it('counts the paper adapter exactly', () => {
    expect(r.adapterParams).toBe(96 * 2 * (12288 * 4 + 4 * 12288));
    expect(r.adapterParams).toBe(18_874_368);
    expect(r.adapterParamsPerModule).toBe(98_304);
    expect(r.baseParams).toBeGreaterThan(174e9);
    expect(r.baseParams).toBeLessThan(176e9);
  });

  it('plans gradients and two Adam moments for every weight under full fine-tuning', () => {
    const t = r.full.totals;
    expect(t.frozen_weights).toBe(0);
    expect(t.trainable_weights).toBe(r.baseParams * 4);
    expect(t.gradients).toBe(t.trainable_weights);
    expect(t.optimizer_state).toBe(2 * t.trainable_weights);
    expect(r.full.modelStateBytes).toBe(4 * t.trainable_weights);
  });

  it('plans gradients and Adam state for the adapter only under LoRA', () => {
    const t = r.lora.totals;
    expect(t.frozen_weights).toBe(r.full.totals.trainable_weights);
    expect(t.adapter_weights).toBe(18_874_368 * 4);
    expect(t.gradients).toBe(t.adapter_weights);
    expect(t.optimizer_state).toBe(2 * t.adapter_weights);
  });

  it("matches the paper's 350 GB at fp16 and is about 4x smaller than full fine-tuning", () => {
    const lora = fp16(r.lora.modelStateBytes);
    expect(Math.abs(lora / PAPER_SCALE.loraVramBytes - 1)).toBeLessThan(0.01);
    expect(fp16(r.full.modelStateBytes) / lora).toBeGreaterThan(3.9);
    expect(fp16(r.full.modelStateBytes) / lora).toBeLessThan(4.01);
    // Activations are reported apart and grow with the sequence.
    const longer = memoryAtScale({ seq: 256, overrides: { layers: 2 } });
    const shorter = memoryAtScale({ seq: 128, overrides: { layers: 2 } });
    expect(longer.lora.activationBytes).toBeGreaterThan(shorter.lora.activationBytes);
    expect(longer.lora.modelStateBytes).toBe(shorter.lora.modelStateBytes);
  });
});
