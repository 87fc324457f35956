// The benchmark's result record (written as JSON) and its markdown rendering (printed to stdout).
// Pure functions: the unit test in test/bench/ checks them without a GPU.
import { GEMM_CHOICES, type GemmChoice } from '../compiler/target.ts';

export interface MatmulRow {
  m: number;
  n: number;
  k: number;
  oursMs: number;
  oursGflops: number;
  tfjsMs?: number;
  tfjsGflops?: number;
  /** ours / tfjs GFLOP/s. */
  ratio?: number;
}

export interface LoraRow {
  d: number;
  r: number;
  rows: number;
  fusedMs: number;
  unfusedMs: number;
  /** unfused / fused time (> 1: fusion helps). */
  speedup: number;
  fusedDispatches: number;
  unfusedDispatches: number;
}

export interface TrainRow {
  name: string;
  ms: number;
  /** Peak GPU bytes (ours: every buffer of the program; tfjs: tf.profile's peak tensor bytes). */
  peakBytes: number;
  /** tfjs only: bytes its buffer manager holds on the GPU after the timed steps (pool included). */
  gpuAllocatedBytes?: number;
  dispatches?: number;
  pipelinesPerStep?: number;
  trainableParams: number;
  /** Loss of the initial weights (the first step's forward), the same for every implementation. */
  initialLoss?: number;
  /** Loss after the timed steps. */
  loss?: number;
}

/** The playground's training step in Chromium and in Node (bench/browser.ts). */
export interface BrowserRow {
  browserAdapter: string;
  nodeAdapter: string;
  batch: number;
  seq: number;
  /** Timed steps per run, after warm-up. */
  steps: number;
  /** Runs per side, alternating; the times are their medians. */
  reps: number;
  browserMs: number;
  nodeMs: number;
  /** Chromium / Node time per step (> 1: the browser is slower). */
  ratio: number;
  /** Loss after the last timed step on each side (the same run, so the same loss). */
  browserLoss: number;
  nodeLoss: number;
}

/** One real-model run (bench/real-model.ts): a Hugging Face folder loaded as `train --model` loads it. */
export interface RealModelRow {
  name: string;
  layers: number;
  /** Bytes of the folder's tensors as stored. */
  folderBytes: number;
  dtypes: string;
  seq: number;
  status: 'ok' | 'blocked';
  /** What stopped it (stage: message), when blocked. */
  error?: string;
  trainableParams?: number;
  loadMs?: number;
  /** The first training step (pipelines compiled, buffers first touched) and a second one. */
  firstStepMs?: number;
  stepMs?: number;
  loss?: number;
  /** Every buffer of the training program / the decoding program (GpuProgram stats). */
  trainGpuBytes?: number;
  decodeGpuBytes?: number;
  /** One decoded token (KV cache of `seq`), after a first one. */
  decodeMs?: number;
  /** This process's peak resident set (process.resourceUsage().maxRSS), bytes. */
  hostPeakRss?: number;
}

/** Decoding throughput of one way to serve many adapters. */
export interface ServeDecodeRow {
  name: string;
  /** Median ms per decoding step (sequential: per token, adapter uploads included). */
  msPerStep: number;
  /** The fastest step: on a CPU adapter shared with other work, load only ever adds time. */
  bestMs: number;
  /** From the median. */
  tokensPerSecond: number;
  /** From the fastest step. */
  bestTokensPerSecond: number;
  /** Summed kernel time of one step (each dispatch alone, fastest of 3). */
  kernelMs?: number;
}

/** A bounded load test of the HTTP server on 127.0.0.1. */
export interface ServeLoadRow {
  clients: number;
  seconds: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  tokensPerSecond: number;
  maxTokens: number;
}

/** One training variant at a long sequence: memory and time. */
export interface RecomputeRow {
  name: string;
  seq: number;
  /** Median and fastest step. */
  msPerStep: number;
  bestMs: number;
  /** The memory plan's peak (every planned buffer after liveness sharing). */
  planPeakBytes: number;
  activationBytes: number;
  /** The GPU program's measured peak (plan + kernel scratch, uniforms, readback). */
  programPeakBytes: number;
}

/** A planned peak only (compiled, not run). */
export interface RecomputePlanRow {
  name: string;
  peakBytes: number;
  activationBytes: number;
}

export interface BenchResults {
  meta: {
    date: string;
    adapter: string;
    features: string[];
    quick: boolean;
    node: string;
    /** os.loadavg() at start and end: other work on the machine skews every number. */
    load?: number[];
    tfjs?: string;
    /** The compile target of our kernels: kind and GEMM choice (e.g. "cpu, gemm auto"). */
    target?: string;
    model: Record<string, number>;
    notes: string[];
  };
  matmul: MatmulRow[];
  lora: LoraRow[];
  train: TrainRow[];
  browser?: BrowserRow;
  /** `--only real-model`. */
  realModel?: RealModelRow[];
  serveDecode?: ServeDecodeRow[];
  serveLoad?: ServeLoadRow;
  recompute?: RecomputeRow[];
  /** Planned peaks of a bigger model (compiled only). */
  recomputePlan?: { model: string; rows: RecomputePlanRow[] };
  /** Named ratios (e.g. tfjs_lora / ours_lora step time). */
  ratios: Record<string, number>;
}

export function fmt(x: number | undefined, digits = 2): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  if (Math.abs(x) >= 100) return x.toFixed(Math.min(digits, 1));
  return x.toFixed(digits);
}

export function mib(bytes: number | undefined): string {
  return bytes === undefined ? '-' : (bytes / 2 ** 20).toFixed(1);
}

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const r of cells) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  out.push(`# Rankfold benchmark (${r.meta.quick ? 'quick' : 'full'})`, '');
  out.push(`adapter: ${r.meta.adapter}  `);
  out.push(`features: ${r.meta.features.join(', ') || '-'}  `);
  if (r.meta.target) out.push(`target: ${r.meta.target}  `);
  const load = r.meta.load ? `, load average ${r.meta.load.map((l) => l.toFixed(2)).join(' -> ')}` : '';
  out.push(`date: ${r.meta.date}, node ${r.meta.node}${r.meta.tfjs ? `, tfjs ${r.meta.tfjs}` : ''}${load}`, '');
  if (r.matmul.length) {
    out.push('## f32 matmul (M = N = K)', '');
    out.push(
      table(
        ['size', 'ours ms', 'ours GFLOP/s', 'tfjs ms', 'tfjs GFLOP/s', 'ours/tfjs'],
        r.matmul.map((m) => [m.m === m.n && m.n === m.k ? m.m : `${m.m}x${m.n}x${m.k}`, fmt(m.oursMs, 3), fmt(m.oursGflops, 1), fmt(m.tfjsMs, 3), fmt(m.tfjsGflops, 1), fmt(m.ratio)]),
      ),
      '',
    );
  }
  if (r.lora.length) {
    out.push('## LoRA linear, forward + backward (x, A, B gradients)', '');
    out.push(
      table(
        ['d', 'r', 'rows', 'fused ms', 'unfused ms', 'unfused/fused', 'dispatches fused/unfused'],
        r.lora.map((l) => [l.d, l.r, l.rows, fmt(l.fusedMs, 3), fmt(l.unfusedMs, 3), fmt(l.speedup), `${l.fusedDispatches}/${l.unfusedDispatches}`]),
      ),
      '',
    );
  }
  if (r.train.length) {
    const m = r.meta.model;
    out.push(`## Training step (width ${m.width}, ${m.layers} layers, seq ${m.seq}, batch ${m.batch}, vocab ${m.vocab}, LoRA r=${m.rank} on q,v)`, '');
    out.push(
      table(
        ['run', 'ms/step', 'peak MiB', 'dispatches/step', 'pipelines/step', 'trainable params', 'initial loss', 'loss after'],
        r.train.map((t) => [
          t.name, fmt(t.ms, 1), `${mib(t.peakBytes)}${t.gpuAllocatedBytes !== undefined ? ` (pool ${mib(t.gpuAllocatedBytes)})` : ''}`,
          t.dispatches ?? '-', t.pipelinesPerStep ?? '-', t.trainableParams, fmt(t.initialLoss, 4), fmt(t.loss, 4),
        ]),
      ),
      '',
    );
  }
  if (r.browser) {
    const b = r.browser;
    out.push(`## Playground training step in Chromium vs Node (char GPT, LoRA r=8 on q,v, batch ${b.batch}, seq ${b.seq})`, '');
    out.push(
      table(
        ['side', 'adapter', 'ms/step', 'loss after'],
        [
          ['Chromium', b.browserAdapter, fmt(b.browserMs, 1), fmt(b.browserLoss, 5)],
          ['Node', b.nodeAdapter, fmt(b.nodeMs, 1), fmt(b.nodeLoss, 5)],
        ],
      ),
      '',
      `Chromium / Node time per step: **${fmt(b.ratio)}** (median of ${b.reps} alternating runs of ${b.steps} steps each).`,
      '',
    );
  }
  if (r.realModel?.length) {
    out.push('## Real-size model (Hugging Face folder, bf16, random weights): one LoRA step, one decoded token', '');
    out.push(
      table(
        ['model', 'folder MiB', 'seq', 'status', 'load s', 'step ms (first)', 'train GPU MiB', 'decode ms', 'decode GPU MiB', 'host peak RSS MiB', 'loss'],
        r.realModel.map((m) => [
          m.name, `${mib(m.folderBytes)} ${m.dtypes}`, m.seq, m.status === 'ok' ? 'ok' : `blocked: ${m.error ?? ''}`.replace(/\|/g, '/'),
          fmt(m.loadMs === undefined ? undefined : m.loadMs / 1000, 1), m.stepMs === undefined ? '-' : `${fmt(m.stepMs, 0)} (${fmt(m.firstStepMs, 0)})`,
          mib(m.trainGpuBytes), fmt(m.decodeMs, 1), mib(m.decodeGpuBytes), mib(m.hostPeakRss), fmt(m.loss, 4),
        ]),
      ),
      '',
    );
  }
  if (r.serveDecode?.length) {
    out.push('## Serving: decoding throughput with many adapters', '');
    out.push(
      table(
        ['way', 'median ms/step', 'tokens/s', 'fastest ms/step', 'tokens/s (fastest)', 'kernel ms/step'],
        r.serveDecode.map((s) => [s.name, fmt(s.msPerStep, 1), fmt(s.tokensPerSecond, 1), fmt(s.bestMs, 1), fmt(s.bestTokensPerSecond, 1), fmt(s.kernelMs, 1)]),
      ),
      '',
    );
  }
  if (r.serveLoad) {
    const l = r.serveLoad;
    out.push(`## Serving: load test (${l.clients} clients, 127.0.0.1, max_tokens ${l.maxTokens})`, '');
    out.push(table(['seconds', 'requests', 'errors', 'p50 ms', 'p99 ms', 'tokens/s'], [[fmt(l.seconds, 1), l.requests, l.errors, fmt(l.p50Ms, 0), fmt(l.p99Ms, 0), fmt(l.tokensPerSecond, 1)]]), '');
  }
  if (r.recompute?.length) {
    out.push(`## Block recompute: training at seq ${r.recompute[0]!.seq}, batch 1`, '');
    out.push(
      table(
        ['variant', 'median ms/step', 'fastest ms/step', 'plan peak MiB', 'activations MiB', 'program peak MiB'],
        r.recompute.map((x) => [x.name, fmt(x.msPerStep, 1), fmt(x.bestMs, 1), mib(x.planPeakBytes), mib(x.activationBytes), mib(x.programPeakBytes)]),
      ),
      '',
    );
  }
  if (r.recomputePlan) {
    out.push(`## Block recompute: planned peak of ${r.recomputePlan.model}`, '');
    out.push(table(['variant', 'peak MiB', 'activations MiB'], r.recomputePlan.rows.map((x) => [x.name, mib(x.peakBytes), mib(x.activationBytes)])), '');
  }
  const ratios = Object.entries(r.ratios);
  if (ratios.length) {
    out.push('## Ratios', '');
    out.push(table(['ratio', 'value'], ratios.map(([k, v]) => [k, fmt(v)])), '');
  }
  for (const n of r.meta.notes) out.push(`- ${n}`);
  return out.join('\n').trimEnd() + '\n';
}

export const BENCH_SECTIONS = ['matmul', 'lora', 'train', 'serve', 'recompute', 'browser', 'real-model'] as const;
export type BenchSection = (typeof BENCH_SECTIONS)[number];

export interface BenchArgs {
  quick: boolean;
  out: string;
  matmulSizes?: number[];
  /** Sections to run; 'browser' (it needs Chromium) and 'real-model' run only when named. */
  only?: Set<BenchSection>;
  /** real-model: decoder layers (default 2) and config.json fields over Qwen2.5-0.5B's (--real-set key=json). */
  realLayers?: number;
  realConfig?: Record<string, unknown>;
  /** real-model: tokens per training row and KV cache length (default 128). */
  realSeq?: number;
  tfjs: boolean;
  /** Force a GEMM form or register config through the compile Target (default: the adapter's 'auto'). */
  gemm?: GemmChoice;
}

/**
 * `--quick`, `--out FILE`, `--matmul 256,512`, `--only matmul,lora,train,serve,recompute,browser,real-model`, `--no-tfjs`,
 * `--gemm auto|tiled|register|r4c1|...`, `--real-layers N`, `--real-seq N`, `--real-set key=json` (repeatable).
 */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { quick: false, out: 'bench/results/latest.json', tfjs: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--no-tfjs') args.tfjs = false;
    else if (a === '--out') args.out = value();
    else if (a === '--matmul') args.matmulSizes = value().split(',').map((s) => Number.parseInt(s, 10));
    else if (a === '--only') {
      const parts = value().split(',');
      for (const p of parts) if (!(BENCH_SECTIONS as readonly string[]).includes(p)) throw new Error(`--only: unknown section ${p} (known: ${BENCH_SECTIONS.join(', ')})`);
      args.only = new Set(parts as BenchSection[]);
    } else if (a === '--gemm') {
      const g = value();
      if (!(GEMM_CHOICES as readonly string[]).includes(g)) throw new Error(`--gemm: one of ${GEMM_CHOICES.join(', ')}, got ${g}`);
      args.gemm = g as GemmChoice;
    } else if (a === '--real-layers') args.realLayers = Number.parseInt(value(), 10);
    else if (a === '--real-seq') args.realSeq = Number.parseInt(value(), 10);
    else if (a === '--real-set') {
      const v = value();
      const eq = v.indexOf('=');
      if (eq <= 0) throw new Error(`--real-set: expected key=json, got ${v}`);
      args.realConfig = { ...args.realConfig, [v.slice(0, eq)]: JSON.parse(v.slice(eq + 1)) };
    } else if (a === '--') continue;
    else throw new Error(`unknown argument ${a} (known: --quick --out FILE --matmul N,N --only ${BENCH_SECTIONS.join(',')} --no-tfjs --gemm CHOICE --real-layers N --real-seq N --real-set key=json)`);
  }
  if (args.matmulSizes?.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error('--matmul: sizes must be positive integers');
  for (const [k, v] of [['--real-layers', args.realLayers], ['--real-seq', args.realSeq]] as const) if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new Error(`${k}: a positive integer`);
  return args;
}
