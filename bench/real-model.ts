// `npm run bench -- --only real-model`: one LoRA training step and one decoded token of a full-width
// Qwen2.5-0.5B-shaped model (real vocabulary 151936, width 896, 14 heads over 2 KV heads, MLP 4864,
// tied embedding) with random bf16 weights, loaded the way `rankfold train --model DIR` loads it:
// the folder (written by tools/build-real-model.ts in a child process, so its writing does not count
// in this process's peak RSS), the spec from config.json's model_type, the base weights uploaded as
// stored (loadFolderBase: bf16 stays bf16, one tensor or row chunk at a time), the spec's LoRA
// (q_proj, v_proj, r=8). Reports the step and token times, the GPU bytes of each program (GpuProgram
// stats: every buffer it allocated) and this process's peak RSS. A failure (a DeviceError, a spec
// that does not fit) is recorded as the row's status, not thrown.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../compiler/compile.ts';
import { optimHyper } from '../compiler/optim/adamw.ts';
import { OFFSET_INPUT, POSITIONS_INPUT } from '../compiler/lower/lower-model.ts';
import type { Target } from '../compiler/target.ts';
import { initAdapterWeights } from '../runtime/adapters/init.ts';
import { Rng } from '../runtime/data/rng.ts';
import type { GpuContext } from '../runtime/device/device.ts';
import { createExecutor } from '../runtime/exec/create.ts';
import type { Executor } from '../runtime/exec/executor.ts';
import { ModelFolder } from '../runtime/io/model-folder.ts';
import { feedTokens } from '../runtime/model/feeds.ts';
import { loadFolderBase, loadFolderSpec } from '../runtime/model/folder-model.ts';
import { requireAllSet, setWeights } from '../runtime/model/weights.ts';
import { modelVocab } from '../runtime/data/job-data.ts';
import type { RealModelRow } from './format.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface RealModelOptions {
  /** Decoder layers (default 2; 24 is the real model). */
  layers: number;
  /** config.json fields over Qwen2.5-0.5B's (e.g. {"model_type": "llama", "vocab_size": 32000} to run what main can). */
  config: Record<string, unknown>;
  /** Folder to write (and reuse); default under the OS temp folder. */
  dir?: string;
  seq: number;
}

const ADAMW = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

function gpuBytes(exec: Executor): number | undefined {
  const stats = (exec as { stats?: { peakBytes: number } }).stats;
  return stats?.peakBytes;
}

function buildFolder(o: RealModelOptions, dir: string, log: (s: string) => void): void {
  const marker = path.join(path.dirname(dir), `.${path.basename(dir)}.built.json`);
  const want = JSON.stringify({ layers: o.layers, config: o.config });
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want) {
    log(`real-model: reusing ${dir}`);
    return;
  }
  const args = ['--import', 'tsx', path.join(REPO, 'tools/build-real-model.ts'), 'qwen2.5-0.5b', dir, '--layers', String(o.layers), ...Object.entries(o.config).flatMap(([k, v]) => ['--set', `${k}=${JSON.stringify(v)}`])];
  log(`real-model: writing the folder (${o.layers} layers, bf16) ...`);
  const r = spawnSync(process.execPath, args, { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the folder failed: ${r.stderr || r.stdout}`);
  log(`real-model: ${r.stdout.trim()}`);
  fs.writeFileSync(marker, want);
}

export async function benchRealModel(gpu: GpuContext, target: Target, o: RealModelOptions, log: (s: string) => void): Promise<RealModelRow> {
  const dir = o.dir ?? path.join(os.tmpdir(), `rankfold-bench-qwen2.5-0.5b-${o.layers}l${Object.keys(o.config).length ? '-custom' : ''}`);
  buildFolder(o, dir, log);
  const folder = await ModelFolder.open(dir);
  const folderBytes = folder.tensors.reduce((a, t) => a + t.byteLength, 0);
  const row: RealModelRow = {
    name: `${folder.modelType} ${folder.config.hidden_size}w ${o.layers}L vocab ${folder.config.vocab_size}`,
    layers: o.layers,
    folderBytes,
    dtypes: [...new Set(folder.tensors.map((t) => t.dtype))].join('/'),
    seq: o.seq,
    status: 'ok',
  };
  let train: Executor | undefined;
  let decode: Executor | undefined;
  let stage = 'spec';
  try {
    const { model } = loadFolderSpec(folder);
    row.trainableParams = model.counts.adapter;
    stage = 'loading the weights';
    const t0 = performance.now();
    const base = await loadFolderBase(model, folder);
    const lora = initAdapterWeights(model, base.decodedOnUse(), 1);
    const paramDtypes = base.paramDtypes ?? {};
    // Random token ids of the vocabulary; labels = the ids (every position scored).
    const rng = new Rng(3);
    const vocab = modelVocab(model);
    const ids = Int32Array.from({ length: o.seq }, () => Math.floor(rng.next() * Math.min(vocab, 151665)));

    stage = 'the training step';
    // Device errors (validation, out of memory, a lost device) throw a DeviceError from the reads.
    const trained = await (async () => {
      train = await createExecutor(compile(model, { mode: 'train', batch: 1, seq: o.seq, adamw: ADAMW, target, paramDtypes }), { backend: 'webgpu', gpu });
      requireAllSet(train, [...(await base.upload(train)), ...setWeights(train, lora)]);
      row.loadMs = performance.now() - t0; // reading the folder and uploading it
      feedTokens(train, ids, 1, o.seq, ids);
      const step = async (t: number) => {
        train!.setInput('optim', optimHyper(2e-4, t, ADAMW));
        const s = performance.now();
        train!.run();
        const loss = (await train!.read('loss'))[0]!;
        return { ms: performance.now() - s, loss };
      };
      const first = await step(1);
      const second = await step(2);
      if (!Number.isFinite(first.loss)) throw new Error(`the loss is ${first.loss}: the step did not run on the device`);
      return { firstStepMs: first.ms, stepMs: second.ms, loss: first.loss, trainGpuBytes: gpuBytes(train) };
    })();
    Object.assign(row, trained);
    train!.destroy();
    train = undefined;

    stage = 'the decoding step';
    const decoded = await (async () => {
      decode = await createExecutor(compile(model, { mode: 'decode', batch: 1, seq: 1, cacheLen: o.seq, target, paramDtypes }), { backend: 'webgpu', gpu });
      await base.upload(decode);
      setWeights(decode, lora);
      const token = async (pos: number) => {
        decode!.setInput('ids', Int32Array.of(ids[pos]!));
        decode!.setInput(POSITIONS_INPUT, Int32Array.of(pos));
        decode!.setInput(OFFSET_INPUT, Int32Array.of(pos));
        const s = performance.now();
        decode!.run();
        const logits = await decode!.read('logits');
        return { ms: performance.now() - s, logits };
      };
      await token(0);
      const warm = await token(1);
      if (!Array.from(warm.logits.subarray(0, 16)).every(Number.isFinite)) throw new Error('the logits are not finite: the decoding step did not run on the device');
      return { decodeMs: warm.ms, decodeGpuBytes: gpuBytes(decode) };
    })();
    Object.assign(row, decoded);
  } catch (err) {
    row.status = 'blocked';
    row.error = `${stage}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300)}`;
    log(`real-model: ${row.error}`);
  } finally {
    train?.destroy();
    decode?.destroy();
    await folder.close();
    await gpu.device.queue.onSubmittedWorkDone();
    row.hostPeakRss = process.resourceUsage().maxRSS * 1024;
  }
  return row;
}
