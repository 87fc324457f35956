// `npm run bench [-- --quick]`: f32 matmul against tfjs, the LoRA linear layer fused against
// unfused, a training step of a small transformer (ours LoRA / ours full / tfjs LoRA), serving many
// adapters (decode throughput, a load test on 127.0.0.1) and block recompute (memory and step time
// at seq 1024), all on one WebGPU adapter in one process (`--only serve,recompute` picks sections).
// Prints a markdown table and writes JSON (bench/results/). `--only browser` (never by default: it
// needs Chromium) times the playground's training step in headless Chromium against the same step
// in Node (bench/browser.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { createGpu } from '../runtime/device/device.ts';
import { targetFor } from '../runtime/device/target.ts';
import { benchBrowser } from './browser.ts';
import { parseArgs, renderMarkdown, type BenchResults, type BenchSection, type TrainRow } from './format.ts';
import { benchRealModel } from './real-model.ts';
import { benchLora } from './lora-linear.ts';
import { benchMatmul } from './matmul.ts';
import { FULL_MODEL, QUICK_MODEL } from './model.ts';
import { setupTfjs, type TfWebgpu } from './tf.ts';
import { benchTrain } from './train.ts';
import { benchServeDecode, benchServeLoad } from './serve.ts';
import { benchRecompute, planLlama1B } from './recompute.ts';

const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // 'browser' needs Chromium and 'real-model' writes a 330 MB folder and needs GBs of memory: they run only when --only names them.
  const want = (s: BenchSection) => (s === 'browser' || s === 'real-model' ? args.only?.has(s) === true : !args.only || args.only.has(s));
  const t0 = performance.now();
  const gpu = await createGpu();
  log(`adapter: ${gpu.adapterName}`);
  const target = targetFor(gpu, args.gemm ? { gemm: args.gemm } : {});
  let tfw: TfWebgpu | undefined;
  const notes: string[] = [];
  if (args.tfjs && (want('matmul') || want('train'))) {
    try {
      tfw = await setupTfjs();
      log(`tfjs ${tfw.version} on webgpu (${tfw.adapter})`);
    } catch (e) {
      notes.push(`tfjs unavailable: ${(e as Error).message}`);
      log(`tfjs unavailable: ${(e as Error).message}`);
    }
  }
  const cfg = args.quick ? QUICK_MODEL : FULL_MODEL;
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      adapter: gpu.adapterName,
      features: [...gpu.features].sort(),
      target: `${target.kind}, gemm ${target.gemm}`,
      quick: args.quick,
      node: process.version,
      load: [loadavg()[0]!],
      ...(tfw ? { tfjs: tfw.version } : {}),
      model: { ...cfg },
      notes,
    },
    matmul: [],
    lora: [],
    train: [],
    ratios: {},
  };

  if (want('matmul')) {
    const sizes = args.matmulSizes ?? (args.quick ? [64, 128, 256] : [128, 256, 512, 1024, 2048]);
    results.matmul = await benchMatmul(gpu, target, tfw, sizes, args.quick, log);
    const biggest = results.matmul[results.matmul.length - 1];
    if (biggest?.ratio !== undefined) results.ratios[`matmul_${biggest.m}_ours_over_tfjs`] = biggest.ratio;
  }
  if (want('lora')) {
    const ds = args.quick ? [256] : [256, 1024];
    const rows = FULL_MODEL.batch * FULL_MODEL.seq; // the full model's tokens per step, also in --quick
    results.lora = await benchLora(gpu, target, ds, [4, 16], rows, args.quick, log);
    for (const l of results.lora) results.ratios[`lora_d${l.d}_r${l.r}_unfused_over_fused`] = l.speedup;
  }
  if (want('train')) {
    const rows = await benchTrain(gpu, target, tfw, cfg, args.quick);
    for (const r of rows) log(`train ${r.name}: ${r.ms.toFixed(1)} ms, ${r.dispatches} dispatches, loss ${r.initialLoss?.toFixed(4)} -> ${r.loss?.toFixed(4)}`);
    results.train.push(...rows);
    const [lora, full, theirs] = rows as [TrainRow, TrainRow, TrainRow | undefined];
    results.ratios['train_full_over_lora_time'] = full.ms / lora.ms;
    results.ratios['train_full_over_lora_peak_memory'] = full.peakBytes / lora.peakBytes;
    if (theirs) {
      results.ratios['train_tfjs_over_ours_lora_time'] = theirs.ms / lora.ms;
      results.ratios['train_tfjs_over_ours_lora_peak_memory'] = theirs.peakBytes / lora.peakBytes;
      if (lora.initialLoss !== undefined && theirs.initialLoss !== undefined) {
        const diff = Math.abs(lora.initialLoss - theirs.initialLoss);
        notes.push(`same model check: initial loss ours ${lora.initialLoss.toFixed(5)} vs tfjs ${theirs.initialLoss.toFixed(5)} (|diff| ${diff.toExponential(1)})`);
        if (diff > 1e-3) log(`warning: initial losses differ by ${diff}: the two models are not the same`);
      }
    }
    notes.push('ours dispatches/pipelines: GpuProgram counters after warm-up; tfjs dispatches: kernels recorded by tf.profile for one step, pipelines: growth of its pipeline cache during the timed steps.');
    notes.push('peak memory: ours = every buffer of the program (memory plan + scratch + uniforms + readback); tfjs = tf.profile peakBytes of one step (live tensors), pool = bytes its buffer manager holds.');
  }
  if (want('browser')) {
    results.browser = await benchBrowser(gpu, args.quick, log);
    results.ratios['browser_over_node_step_time'] = results.browser.ratio;
    const lossDiff = Math.abs(results.browser.browserLoss - results.browser.nodeLoss);
    notes.push(`browser: Chromium and Node ran the same steps from the same seed; their losses after the timed steps differ by ${lossDiff.toExponential(1)}.`);
  }
  if (want('serve')) {
    const rows = await benchServeDecode(gpu, target, args.quick, log);
    results.serveDecode = rows;
    for (const r of rows) log(`serve ${r.name}: ${r.msPerStep.toFixed(1)} ms, ${r.tokensPerSecond.toFixed(1)} tokens/s`);
    const [multi, merged, sequential] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
    // From the fastest steps: other work on a shared CPU adapter only adds time (medians alongside).
    results.ratios['serve_multi_over_merged_throughput'] = multi.bestTokensPerSecond / merged.bestTokensPerSecond;
    results.ratios['serve_multi_over_merged_throughput_median'] = multi.tokensPerSecond / merged.tokensPerSecond;
    if (multi.kernelMs !== undefined && merged.kernelMs !== undefined) results.ratios['serve_multi_over_merged_kernel_throughput'] = merged.kernelMs / multi.kernelMs;
    results.ratios['serve_multi_over_sequential_throughput'] = multi.bestTokensPerSecond / sequential.bestTokensPerSecond;
    const load = await benchServeLoad(gpu, args.quick ? { clients: 8, seconds: 10, maxRequests: 64, maxTokens: 8 } : { clients: 16, seconds: 60, maxRequests: 1000, maxTokens: 16 }, log);
    results.serveLoad = load;
    log(`serve load: ${load.requests} requests, ${load.errors} errors, p50 ${load.p50Ms.toFixed(0)} ms, p99 ${load.p99Ms.toFixed(0)} ms`);
    notes.push('serve decode: a Llama-shaped model (random weights), 8 adapters on q,k,v,o of ranks 4-16 (padded to 16); decode steps read the logits back; sequential = batch 1 through the single-adapter LoRA graph, the adapter upload spread over a request; kernel ms = each dispatch alone, fastest of 3 (load cannot inflate it).');
    notes.push('serve load: the small model (hidden 256, 2 layers, vocab 4096) with the 8 adapters, byte-level tokenizer, greedy completions of a short prompt, clients cycling over the adapters.');
  }
  if (want('recompute')) {
    const rows = await benchRecompute(gpu, target, args.quick, log);
    results.recompute = rows;
    const [lora, loraRc, full] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
    results.ratios['recompute_lora_rc_over_lora_step_time'] = loraRc.bestMs / lora.bestMs;
    results.ratios['recompute_lora_rc_over_lora_step_time_median'] = loraRc.msPerStep / lora.msPerStep;
    results.ratios['recompute_lora_rc_over_lora_peak'] = loraRc.planPeakBytes / lora.planPeakBytes;
    results.ratios['recompute_lora_rc_over_full_peak'] = loraRc.planPeakBytes / full.planPeakBytes;
    const plan = planLlama1B();
    results.recomputePlan = { model: 'Llama-3.2-1B, seq 1024, batch 4', rows: plan };
    results.ratios['llama1b_lora_rc_over_lora_peak'] = plan[1]!.peakBytes / plan[0]!.peakBytes;
    results.ratios['llama1b_lora_rc_over_full_peak'] = plan[1]!.peakBytes / plan[2]!.peakBytes;
  }
  if (want('real-model')) {
    const row = await benchRealModel(gpu, target, { layers: args.realLayers ?? 2, config: args.realConfig ?? {}, seq: args.realSeq ?? 128 }, log);
    results.realModel = [row];
    notes.push('real-model: GPU bytes = every buffer of the program (GpuProgram stats); host peak RSS = process.resourceUsage().maxRSS of the bench process after the run (on lavapipe the GPU buffers live in host memory and count in it too); the folder is written by a child process.');
  }
  results.meta.load!.push(loadavg()[0]!);
  notes.push(`total wall time ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(renderMarkdown(results));
  log(`wrote ${args.out}`);
  // Dawn keeps the event loop alive; leave explicitly.
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
