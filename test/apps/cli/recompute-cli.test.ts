// Block recompute from the command line: `rankfold compile --emit plan` prints `peak bytes: N`,
// and for a Llama-3.2-1B-shaped model (config only: compiling needs no weights) at seq 1024, batch 4
// the peak with --recompute blocks is below plain LoRA's and below full fine-tuning's;
// `rankfold train --recompute blocks` trains to the same adapter as without it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../../helpers/cli.ts';
import { readAdapterDir } from '../../../runtime/io/node-fs.ts';
import { CHAR_GPT, TINY_SET_FLAGS, tmpDir, writeJsonl } from '../../runtime/train/fixtures.ts';

/** Llama-3.2-1B's config.json (the shapes; no weights are read). */
export const LLAMA_3_2_1B = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  vocab_size: 128256,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
};

const LLAMA = path.resolve('dsl-examples/llama.rf');

function peak(out: string): number {
  const m = /^peak bytes: (\d+)$/m.exec(out);
  if (!m) throw new Error(`no "peak bytes:" line in:\n${out}`);
  return Number(m[1]);
}

describe('rankfold compile --emit plan: peak bytes', () => {
  it('Llama-3.2-1B at seq 1024, batch 4: LoRA + recompute < plain LoRA < full fine-tuning', async () => {
    const dir = tmpDir('l1b');
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify(LLAMA_3_2_1B));
    const base = ['compile', LLAMA, '--config', config, '--emit', 'plan', '--seq', '1024', '--batch', '4'];
    const runs = {
      lora: await run(base),
      loraRecompute: await run([...base, '--recompute', 'blocks']),
      full: await run([...base, '--full']),
      fullRecompute: await run([...base, '--full', '--recompute', 'blocks']),
    };
    for (const r of Object.values(runs)) expect(r).toMatchObject({ code: 0, err: '' });
    const p = Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, peak(r.out)])) as Record<keyof typeof runs, number>;
    expect(p.loraRecompute).toBeLessThan(p.lora);
    expect(p.loraRecompute).toBeLessThan(p.full);
    expect(p.lora).toBeLessThan(p.full);
    expect(p.fullRecompute).toBeLessThan(p.full);
    // The peak is the plan's total, printed above it by category.
    const total = /^total +(\d+) B/m.exec(runs.lora.out)!;
    expect(Number(total[1])).toBe(p.lora);
    // Full fine-tuning holds 1.24B trainable weights with a gradient and two AdamW moments each.
    expect(runs.full.out).toMatch(/^optimizer_state +\d{10} B/m);
  });

  it('refuses --recompute values and modes it does not apply to', async () => {
    const base = ['compile', CHAR_GPT, ...TINY_SET_FLAGS, '--emit', 'plan', '--batch', '2', '--seq', '8'];
    expect((await run([...base, '--recompute', 'layers'])).err).toBe('rankfold: --recompute must be one of none, blocks, got "layers"\n');
    expect((await run([...base, '--mode', 'eval', '--recompute', 'blocks'])).err).toBe('rankfold: --full and --recompute are for --mode train, not eval\n');
  });
});

describe('rankfold train --recompute blocks', () => {
  it('trains the same adapter as without recompute', async () => {
    const dir = tmpDir('train-rc');
    const data = writeJsonl(dir);
    const train = ['train', CHAR_GPT, ...TINY_SET_FLAGS, '--backend', 'interp', '--data', data, '--batch', '4', '--seq', '16', '--steps', '3', '--eval-every', '0', '--seed', '5', '--lr', '1e-2'];
    const plain = await run([...train, '--out', path.join(dir, 'plain')]);
    const re = await run([...train, '--out', path.join(dir, 're'), '--recompute', 'blocks']);
    expect(plain.code).toBe(0);
    expect(re.code).toBe(0);
    expect(re.out).toMatch(/^run: .*recompute blocks$/m);
    const a = readAdapterDir(path.join(dir, 'plain'));
    const b = readAdapterDir(path.join(dir, 're'));
    for (const [module, t] of a.tensors) {
      const u = b.tensors.get(module)!;
      for (const [x, y] of [[t.A.data, u.A.data], [t.B.data, u.B.data]] as const) {
        for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(x[i]!)));
      }
    }
  });
});
