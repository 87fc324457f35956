// The Llama and GPT-2 examples match Hugging Face checkpoints exactly: every weight name and shape
// in the conformance fixtures' model.safetensors, and the parameter count (tied head once).
import { openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkFile, CONFORMANCE, EXAMPLES } from './helpers.ts';

function header(path: string): Record<string, { shape: number[] }> {
  const fd = openSync(path, 'r');
  try {
    const len = Buffer.alloc(8);
    readSync(fd, len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 8);
    const h = JSON.parse(buf.toString('utf8')) as Record<string, { shape: number[] }>;
    delete h.__metadata__;
    return h;
  } finally {
    closeSync(fd);
  }
}

const cases = [
  { example: 'llama.rf', fixture: 'llama_qv_r4', loraTargets: ['q_proj', 'v_proj'] },
  { example: 'gpt2.rf', fixture: 'gpt2_cattn_r4', loraTargets: ['c_attn'] },
];

describe('Hugging Face layouts', () => {
  for (const c of cases) {
    it(`${c.example} loads ${c.fixture} by name`, () => {
      const dir = join(CONFORMANCE, c.fixture);
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      const r = checkFile(join(EXAMPLES, c.example), { config });
      expect(r.diagnostics).toEqual([]);
      const m = r.model!;
      const h = header(join(dir, 'model.safetensors'));
      const total = Object.values(h).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
      expect(m.counts.base).toBe(total);
      for (const w of m.weights.filter((x) => x.role !== 'adapter')) {
        // A tied pair is stored once, under either name.
        const stored = h[w.name] ?? (w.tiedTo ? h[w.tiedTo] : undefined) ?? m.weights.filter((x) => x.tiedTo === w.name).map((x) => h[x.name])[0];
        expect(stored, w.name).toBeDefined();
        expect(stored!.shape, w.name).toEqual(w.shape);
      }
      const adapter = JSON.parse(readFileSync(join(dir, 'adapter', 'adapter_config.json'), 'utf8'));
      expect(m.lora.every((t) => t.config.rank === 8 || t.config.rank === adapter.r)).toBe(true);
      expect(new Set(m.lora.map((t) => t.module.split('.').pop()))).toEqual(new Set(c.loraTargets));
      const ah = header(join(dir, 'adapter', 'adapter_model.safetensors'));
      for (const t of m.lora) {
        const a = ah[`base_model.model.${t.module}.lora_A.weight`];
        expect(a?.shape[1], t.module).toBe(t.inFeatures);
        expect(ah[`base_model.model.${t.module}.lora_B.weight`]?.shape[0], t.module).toBe(t.outFeatures);
      }
    });
  }
});

describe('published sizes', () => {
  it('Llama-2 7B, GPT-2 small and GPT-3 175B have their known parameter counts', () => {
    expect(checkFile(join(EXAMPLES, 'llama.rf')).model!.counts.base).toBe(6_738_415_616);
    expect(checkFile(join(EXAMPLES, 'gpt2.rf')).model!.counts.base).toBe(124_439_808);
    const g3 = checkFile(join(EXAMPLES, 'gpt3-175b.rf')).model!;
    expect(g3.counts.base).toBeGreaterThan(174e9);
    expect(g3.counts.base).toBeLessThan(176e9);
    expect(g3.lora).toHaveLength(192);
    expect(g3.lora.every((t) => t.config.rank === 4)).toBe(true);
  });

  it('the checked model is resolved: shapes, layouts, roles, head', () => {
    const m = checkFile(join(EXAMPLES, 'gpt2.rf')).model!;
    const cattn = m.ops.find((o) => o.op === 'linear' && o.module === 'transformer.h.0.attn.c_attn')!;
    expect(cattn).toMatchObject({ inFeatures: 768, outFeatures: 2304, layout: 'conv1d', lora: { rank: 4, alpha: 8, scaling: 2 } });
    expect(m.weights.find((w) => w.name === 'transformer.h.0.attn.c_attn.weight')).toMatchObject({ shape: [768, 2304], layout: 'conv1d', role: 'frozen' });
    expect(m.weights.find((w) => w.name === 'lm_head.weight')).toMatchObject({ tiedTo: 'transformer.wte.weight' });
    expect(m.ops.filter((o) => o.op === 'linear' && o.head).map((o) => (o as { module: string }).module)).toEqual(['lm_head']);
    expect(m.ops.filter((o) => o.op === 'slice')).toHaveLength(36);
    const attn = m.ops.find((o) => o.op === 'attention')!;
    expect(attn).toMatchObject({ heads: 12, kvHeads: 12, headDim: 64, rope: null, causal: true });
    expect(m.values[m.outputs[0]!.value]!.shape).toEqual(['B', 'T', 50257]);
    const llama = checkFile(join(EXAMPLES, 'llama.rf'), { overrides: { kv_heads: 8 } }).model!;
    expect(llama.ops.find((o) => o.op === 'attention')).toMatchObject({ heads: 32, kvHeads: 8, headDim: 128, rope: { theta: 10000 } });
  });
});
