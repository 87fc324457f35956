// The benchmark harness without a GPU: argument parsing, the markdown rendering, the median and the
// round-robin timer (with fake steps; no timing assertions), and the bench model's determinism.
import { describe, expect, it } from 'vitest';
import { parseArgs, renderMarkdown, fmt, type BenchResults } from '../../bench/format.ts';
import { median, timeInterleaved } from '../../bench/timing.ts';
import { batchInputs, buildModelGraph, initParam, modelParamCount, paramSpecs, QUICK_MODEL } from '../../bench/model.ts';
import { loraLinearGraph, countOps } from '../../bench/lora-linear.ts';

const sample: BenchResults = {
  meta: { date: '2026-01-01T00:00:00Z', adapter: 'test adapter', features: ['subgroups'], quick: true, node: 'v20', tfjs: '4.22.0', load: [1, 2], model: { ...QUICK_MODEL }, notes: ['a note'] },
  matmul: [{ m: 64, n: 64, k: 64, oursMs: 0.5, oursGflops: 1.05, tfjsMs: 1, tfjsGflops: 0.52, ratio: 2.02 }],
  lora: [{ d: 256, r: 4, rows: 1024, fusedMs: 10, unfusedMs: 15, speedup: 1.5, fusedDispatches: 12, unfusedDispatches: 17 }],
  train: [{ name: 'ours LoRA', ms: 100, peakBytes: 2 * 2 ** 20, dispatches: 99, pipelinesPerStep: 0, trainableParams: 2048, initialLoss: 4.88, loss: 4.87 }],
  ratios: { train_tfjs_over_ours_lora_time: 2.5 },
};

describe('bench harness', () => {
  it('parses its arguments', () => {
    expect(parseArgs([])).toMatchObject({ quick: false, tfjs: true, out: 'bench/results/latest.json' });
    const a = parseArgs(['--', '--quick', '--matmul', '64,128', '--only', 'matmul,train', '--no-tfjs', '--out', 'x.json']);
    expect(a).toMatchObject({ quick: true, tfjs: false, out: 'x.json', matmulSizes: [64, 128] });
    expect([...a.only!]).toEqual(['matmul', 'train']);
    expect(() => parseArgs(['--only', 'nope'])).toThrow(/unknown section nope \(known: matmul, lora, train, serve, recompute, browser, real-model\)/);
    expect([...parseArgs(['--only', 'browser']).only!]).toEqual(['browser']);
    expect([...parseArgs(['--only', 'serve,recompute']).only!]).toEqual(['serve', 'recompute']);
    expect(() => parseArgs(['--matmul', '0'])).toThrow(/positive/);
    expect(() => parseArgs(['--bogus'])).toThrow(/unknown argument/);
    const r = parseArgs(['--only', 'real-model', '--real-layers', '24', '--real-set', 'vocab_size=32000', '--real-set', 'model_type="llama"']);
    expect([...r.only!]).toEqual(['real-model']);
    expect(r).toMatchObject({ realLayers: 24, realConfig: { vocab_size: 32000, model_type: 'llama' } });
    expect(() => parseArgs(['--real-layers', '0'])).toThrow(/positive integer/);
  });

  it('renders every section as a markdown table', () => {
    const md = renderMarkdown(sample);
    expect(md).toContain('adapter: test adapter');
    expect(md).toContain('| size | ours ms | ours GFLOP/s | tfjs ms | tfjs GFLOP/s | ours/tfjs |');
    expect(md).toContain('| 64 | 0.500 | 1.1 | 1.000 | 0.5 | 2.02 |');
    expect(md).toContain('| 256 | 4 | 1024 | 10.000 | 15.000 | 1.50 | 12/17 |');
    expect(md).toContain('| ours LoRA | 100.0 | 2.0 | 99 | 0 | 2048 | 4.8800 | 4.8700 |');
    expect(md).toContain('| train_tfjs_over_ours_lora_time | 2.50 |');
    expect(md).not.toContain('Chromium');
    const withBrowser = renderMarkdown({
      ...sample,
      browser: { browserAdapter: 'google swiftshader', nodeAdapter: 'llvmpipe', batch: 16, seq: 32, steps: 30, reps: 3, browserMs: 450, nodeMs: 150, ratio: 3, browserLoss: 2.5, nodeLoss: 2.5 },
    });
    expect(withBrowser).toContain('| Chromium | google swiftshader | 450.0 | 2.50000 |');
    expect(withBrowser).toContain('Chromium / Node time per step: **3.00** (median of 3 alternating runs of 30 steps each)');
    expect(md).toContain('- a note');
    const real = renderMarkdown({
      ...sample,
      realModel: [
        { name: 'qwen2 896w 2L vocab 151936', layers: 2, folderBytes: 2 ** 20 * 332, dtypes: 'BF16', seq: 128, status: 'ok', loadMs: 2500, firstStepMs: 900, stepMs: 800, loss: 11.93, trainGpuBytes: 2 ** 30, decodeMs: 40, decodeGpuBytes: 2 ** 29, hostPeakRss: 2 ** 31 },
        { name: 'qwen2 896w 2L vocab 151936', layers: 2, folderBytes: 2 ** 20, dtypes: 'BF16', seq: 128, status: 'blocked', error: 'spec: no spec | here' },
      ],
    });
    expect(real).toContain('| qwen2 896w 2L vocab 151936 | 332.0 BF16 | 128 | ok | 2.5 | 800 (900) | 1024.0 | 40.0 | 512.0 | 2048.0 | 11.9300 |');
    expect(real).toContain('| blocked: spec: no spec / here | - | - | - | - | - | - | - |\n');
    const serving = renderMarkdown({
      ...sample,
      serveDecode: [{ name: 'multi', msPerStep: 10, bestMs: 8, tokensPerSecond: 800, bestTokensPerSecond: 1000 }],
      serveLoad: { clients: 4, seconds: 5, requests: 20, errors: 0, p50Ms: 100, p99Ms: 300, tokensPerSecond: 50, maxTokens: 8 },
      recompute: [{ name: 'LoRA', seq: 1024, msPerStep: 100, bestMs: 90, planPeakBytes: 2 ** 21, activationBytes: 2 ** 20, programPeakBytes: 2 ** 21 }],
      recomputePlan: { model: 'Llama-3.2-1B', rows: [{ name: 'LoRA', peakBytes: 2 ** 30, activationBytes: 2 ** 29 }] },
    });
    expect(serving).toContain('| multi | 10.0 | 800.0 | 8.0 | 1000 |');
    expect(serving).toContain('## Serving: load test (4 clients, 127.0.0.1, max_tokens 8)');
    expect(serving).toContain('| 5.0 | 20 | 0 | 100 | 300 | 50.0 |');
    expect(serving).toContain('| LoRA | 100.0 | 90.0 | 2.0 | 1.0 | 2.0 |');
    expect(serving).toContain('| LoRA | 1024.0 | 512.0 |');
    expect(fmt(undefined)).toBe('-');
    expect(fmt(NaN)).toBe('-');
    expect(fmt(12345.6)).toBe('12346');
  });

  it('takes medians and times variants round-robin', async () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const order: string[] = [];
    const v = (name: string) => ({ step: () => void order.push(name), sync: async () => {} });
    const t = await timeInterleaved([v('a'), v('b')], { warmup: 1, reps: 3, minSampleMs: 0, maxInner: 1 });
    expect(t).toHaveLength(2);
    expect(t.every((x) => x.reps === 3 && x.inner === 1 && x.ms >= 0)).toBe(true);
    expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
  });

  it('builds the bench model deterministically, with LoRA on q and v only', () => {
    const lora = paramSpecs(QUICK_MODEL, 'lora');
    expect(lora.filter((s) => s.role === 'adapter').map((s) => s.name)).toEqual(
      ['h.0.q_proj', 'h.0.v_proj', 'h.1.q_proj', 'h.1.v_proj'].flatMap((m) => [`${m}.lora_A.weight`, `${m}.lora_B.weight`]),
    );
    expect(paramSpecs(QUICK_MODEL, 'full').every((s) => s.role === 'trainable')).toBe(true);
    const wte = lora.find((s) => s.name === 'wte')!;
    expect(initParam(wte)).toEqual(initParam(wte));
    expect(initParam(wte)[0]).not.toEqual(initParam({ ...wte, name: 'wpe' })[0]);
    expect(modelParamCount(QUICK_MODEL, 'lora').trainable).toBe(2 * 2 * (4 * 64 + 64 * 4));
    const g = buildModelGraph(QUICK_MODEL, 'lora');
    expect(g.outputs['loss']).toBeDefined();
    const inputs = batchInputs(QUICK_MODEL);
    expect(inputs.labels[QUICK_MODEL.seq - 1]).toBe(-100);
    expect(inputs.labels[0]).toBe(inputs.ids[1]);
  });

  it('the fused LoRA linear graph uses lowrank_matmul and the unfused one does not', () => {
    expect(countOps(loraLinearGraph(16, 32, 4, true), 'lowrank_matmul')).toBeGreaterThan(0);
    expect(countOps(loraLinearGraph(16, 32, 4, false), 'lowrank_matmul')).toBe(0);
  });
});
