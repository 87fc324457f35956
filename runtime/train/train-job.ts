// One training job, end to end: the spec re-targeted for the run's LoRA settings, data, base weights,
// a compiled training step, the loop with evaluation, checkpoints and the loss log, and the outputs
// (PEFT adapter or full model, loss.csv, loss.svg). `rankfold train` is a thin shell over it, and
// scripts call it directly; reporting goes through TrainReporter so neither prints on its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { countTargets, shiftLabels, type Rows } from '../data/dataset.ts';
import { BatchLoader, evalBatches, evenlySpacedRows } from '../data/loader.ts';
import { Rng, mixSeed } from '../data/rng.ts';
import type { Tokenizer } from '../data/tokenizer.ts';
import { UserError } from '../../compiler/errors.ts';
import type { BackendName, Executor } from '../exec/executor.ts';
import type { GpuContext } from '../device/device.ts';
import { commitFiles, requireOwnable } from '../io/atomic.ts';
import { ioError } from '../io/fs-errors.ts';
import { OutputDir } from '../io/output-dir.ts';
import { OPTIMIZER_NAME, TRAINER_STATE_FORMAT, TRAINER_STATE_NAME, type TrainerState } from '../io/checkpoint.ts';
import type { SafetensorsFile } from '../io/safetensors.ts';
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, writeAdapter, type PeftConfig } from '../io/peft.ts';
import { applyPeftConfig } from '../adapters/apply-peft.ts';
import { compile } from '../../compiler/compile.ts';
import { createExecutor, executorTarget } from '../exec/create.ts';
import { loadSpec } from '../model/load-spec.ts';
import { stripAdapters } from '../adapters/merge-model.ts';
import { requireAllSet, setWeights, type WeightMap } from '../model/weights.ts';
import { peftConfigFor, readAdapterFromExecutor, trainableBaseWeights } from '../adapters/adapter-weights.ts';
import { initAdapterWeights } from '../adapters/init.ts';
import { csvRow } from '../report/logger.ts';
import { lineChartSvg } from '../report/charts.ts';
import { learningRate, type ScheduleOptions } from './schedule.ts';
import { NonFiniteLossError, feedBatch, trainLoop, type StepInfo } from './trainer.ts';
import { FULL_WEIGHTS_NAME, adapterTensors, hasCheckpoint, loadCheckpoint, requireFiniteTrained, saveCheckpoint, trainedWeights } from './checkpoints.ts';
import { getWeight, setWeight, weightSlots } from '../exec/weight-slots.ts';
import { loadTrainData, tokenizerFor, type TrainData } from '../data/job-data.ts';
import { resolveTrainSettings, resumeMismatches, type TrainOverrides, type TrainSettings } from './settings.ts';
import { loadBase, modelFileBytes, type LoadedBase } from '../model/base-weights.ts';
import { loadFolderBase, loadFolderSpec, withModelFolder } from '../model/folder-model.ts';
import type { ModelFolder } from '../io/model-folder.ts';
import { baseModelNameOrPath } from '../io/hf-config.ts';

export interface TrainJobOptions extends TrainOverrides {
  /** The model spec (.rf); with `model`, it overrides the shipped spec of the folder's model_type. */
  spec?: string;
  /**
   * A Hugging Face model folder: config.json picks the spec (by model_type) and binds it, the base
   * weights come from its safetensors (sharded or not, any float dtype), the tokenizer from its
   * tokenizer.json. Excludes `weights` and `config`.
   */
  model?: string;
  /** A Hugging Face config.json's contents, bound through the spec's `config` block. */
  config?: Record<string, unknown>;
  /** Spec parameter overrides (like `rankfold check --set`). */
  set?: Record<string, number | boolean | string>;
  data: string;
  out: string;
  weights?: string;
  /** bytes, gpt2 or a folder with tokenizer.json; by default the model folder's, else by vocabulary (job-data.ts). */
  tokenizer?: string;
  backend: BackendName;
  gpu?: GpuContext;
  resume?: boolean;
  /** Train every base weight instead of adapters. */
  full?: boolean;
  /** PEFT's modules_to_save: modules trained in full and saved with the adapter (added to the spec's `lora trainable`). */
  modulesToSave?: string[];
  /** PEFT's init_lora_weights for every adapter (true, false, "gaussian", "pissa", "olora", ...), overriding the spec. */
  init?: boolean | string;
  reporter?: TrainReporter;
}

/** Where a job's messages go; every method is optional (a silent script passes nothing). */
export interface TrainReporter {
  info?(line: string): void;
  start?(totalSteps: number, startStep: number): void;
  step?(info: StepInfo): void;
  /** A message during training (eval result, checkpoint saved) that must not garble a progress bar. */
  log?(line: string): void;
  stop?(): void;
}

export interface LossRecord {
  /** Optimizer steps done (1-based). */
  step: number;
  loss: number;
  eval_loss?: number;
}

export interface TrainJobResult {
  settings: TrainSettings;
  history: LossRecord[];
  startStep: number;
  outDir: string;
  files: string[];
}

export const LOSS_CSV = 'loss.csv';
export const LOSS_SVG = 'loss.svg';
export const CHECKPOINT_DIR = 'checkpoint';
const CSV_COLUMNS = ['step', 'loss', 'eval_loss', 'lr'];

/** What PEFT records as the base model: config.json's `_name_or_path`, else the folder of the base weights. */
function baseModelName(o: TrainJobOptions, folder: ModelFolder | undefined): string | null {
  if (folder) return folder.nameOrPath;
  if (o.weights !== undefined) return baseModelNameOrPath(o.config ?? {}, path.dirname(o.weights));
  const fromConfig = o.config?.['_name_or_path'];
  return typeof fromConfig === 'string' && fromConfig.trim() !== '' ? fromConfig : null;
}

/** The model the run trains: the spec's adapters re-targeted by --rank/--alpha/--init/--modules-to-save, or no adapters for --full. */
function targetModel(spec: CheckedModel, o: TrainJobOptions, folder: ModelFolder | undefined, info: (s: string) => void, resumed?: PeftConfig): { model: CheckedModel; peft?: PeftConfig } {
  if (o.full) return { model: stripAdapters(spec) };
  if (spec.lora.length === 0) throw new UserError(`${spec.file}: no \`lora targets\` to train (add one, or pass --full)`);
  let peft = resumed;
  if (!peft) {
    // One code path for every run: the spec's LoRA settings as a PEFT config, patched, applied back.
    const extra: Partial<PeftConfig> = { base_model_name_or_path: baseModelName(o, folder) };
    if (o.rank !== undefined) Object.assign(extra, { r: o.rank, rank_pattern: {} });
    if (o.alpha !== undefined) Object.assign(extra, { lora_alpha: o.alpha, alpha_pattern: {} });
    if (o.init !== undefined) extra.init_lora_weights = o.init;
    if (o.modulesToSave?.length) extra.modules_to_save = [...new Set([...(spec.adapterOptions?.modulesToSave ?? []), ...o.modulesToSave])];
    peft = peftConfigFor(spec, extra);
  } else {
    const diff: string[] = [];
    if (o.rank !== undefined && o.rank !== peft.r) diff.push(`rank ${peft.r} -> ${o.rank}`);
    if (o.alpha !== undefined && o.alpha !== peft.lora_alpha) diff.push(`alpha ${peft.lora_alpha} -> ${o.alpha}`);
    if (o.init !== undefined && o.init !== peft.init_lora_weights) diff.push(`init ${JSON.stringify(peft.init_lora_weights)} -> ${JSON.stringify(o.init)}`);
    const saved = peft.modules_to_save ?? [];
    if (o.modulesToSave?.some((m) => !saved.includes(m))) diff.push(`modules_to_save ${JSON.stringify(saved)} -> +${JSON.stringify(o.modulesToSave)}`);
    if (diff.length) throw new UserError(`--resume: the checkpoint was trained with other settings (${diff.join(', ')})`);
  }
  const model = applyPeftConfig(spec, peft, "the run's LoRA settings", { training: true, warn: info });
  requireUsefulRanks(model, o.rank !== undefined);
  return { model, peft };
}

/**
 * A LoRA update B·A of a module with in -> out features has rank at most min(in, out), so a larger r
 * adds only memory (and --rank 1e9 would try to allocate billions of values): refused, naming the limit.
 */
function requireUsefulRanks(model: CheckedModel, fromFlag: boolean): void {
  for (const t of model.lora) {
    const limit = Math.min(t.inFeatures, t.outFeatures);
    if (t.config.rank > limit) {
      const what = fromFlag ? `--rank ${t.config.rank}` : `rank ${t.config.rank} (from ${model.file})`;
      throw new UserError(`${what} is above ${limit}, the most ${t.module} (${t.inFeatures} -> ${t.outFeatures} features) can use: a LoRA update has rank at most min(in, out)`);
    }
  }
}

/** "base frozen", or which base weights train too (modules_to_save, bias = "all" | "lora_only"). */
function trainedBaseNote(model: CheckedModel): string {
  const trained = trainableBaseWeights(model);
  if (trained.length === 0) return 'base frozen';
  const n = trained.reduce((a, w) => a + w.numel, 0);
  const opts = model.adapterOptions;
  const why = [opts?.modulesToSave.length ? `modules_to_save ${opts.modulesToSave.join(', ')}` : '', opts && opts.bias !== 'none' ? `bias="${opts.bias}"` : ''].filter(Boolean).join(', ');
  return `${n.toLocaleString('en-US')} base parameters trained in full (${why}), the rest frozen`;
}

function scheduleOf(s: TrainSettings): ScheduleOptions {
  return { kind: s.schedule, lr: s.lr, warmupSteps: s.warmup, totalSteps: s.steps, minLrRatio: s.minLrRatio };
}

function csvLine(r: LossRecord, sched: ScheduleOptions): string {
  return csvRow([r.step, r.loss, r.eval_loss, learningRate(sched, r.step - 1)]) + '\n';
}

/** Mean loss over every held-out row, weighted by the tokens each batch scores; undefined when none scores. */
async function evaluate(exec: Executor, rows: Rows, batch: number): Promise<number | undefined> {
  let sum = 0;
  let count = 0;
  for (const b of evalBatches(rows, batch)) {
    const n = countTargets(shiftLabels(b.labels, b.batchSize, b.seqLen));
    if (n === 0) continue;
    feedBatch(exec, b);
    exec.run();
    sum += (await exec.read('loss'))[0]! * n;
    count += n;
  }
  return count > 0 ? sum / count : undefined;
}

export function lossCurveSvg(history: LossRecord[], title: string): Promise<string> {
  const series = [{ name: 'train loss', x: history.map((h) => h.step), y: history.map((h) => h.loss) }];
  const ev = history.filter((h) => h.eval_loss !== undefined);
  if (ev.length) series.push({ name: 'held-out loss', x: ev.map((h) => h.step), y: ev.map((h) => h.eval_loss!) });
  return lineChartSvg({ series, title, xLabel: 'step', yLabel: 'loss', xInteger: true });
}

export async function runTrainJob(o: TrainJobOptions): Promise<TrainJobResult> {
  if (o.model !== undefined) {
    if (o.weights !== undefined) throw new UserError(`--weights cannot be used with --model: the base weights are the folder's (${o.model})`);
    if (o.config !== undefined) throw new UserError(`--config cannot be used with --model: the folder's config.json is used (${o.model})`);
    return withModelFolder(o.model, (folder) => runJob(o, folder));
  }
  return runJob(o, undefined);
}

async function runJob(o: TrainJobOptions, folder: ModelFolder | undefined): Promise<TrainJobResult> {
  let spec: CheckedModel;
  if (folder) {
    const loaded = loadFolderSpec(folder, { spec: o.spec, set: o.set });
    spec = loaded.model;
    if (loaded.unread.length) o.reporter?.info?.(`warning:  ${folder.dir}/config.json has keys ${loaded.specFile} does not read: ${loaded.unread.join(', ')}`);
  } else if (o.spec !== undefined) spec = loadSpec(o.spec, { config: o.config, overrides: o.set });
  else throw new UserError('no model to train: give a spec file or --model with a Hugging Face model folder');
  // The folder is created only now, locked against a second run, and removed again if this run
  // fails before writing anything into it.
  const outDir = OutputDir.open(o.out, 'rankfold train', [CHECKPOINT_DIR]);
  let ok = false;
  try {
    const result = await trainInto(outDir.dir, spec, o, folder);
    ok = true;
    return result;
  } finally {
    outDir.close({ failed: !ok });
  }
}

/** The base weights: the model folder's, the --weights file's, or a seeded fresh init. */
async function baseFor(model: CheckedModel, o: TrainJobOptions, folder: ModelFolder | undefined, seed: number): Promise<LoadedBase> {
  return folder ? loadFolderBase(model, folder) : loadBase(model, o.weights, seed);
}

async function trainInto(out: string, spec: CheckedModel, o: TrainJobOptions, folder: ModelFolder | undefined): Promise<TrainJobResult> {
  const rep = o.reporter ?? {};
  const info = (s: string) => rep.info?.(s);
  const ckDir = path.join(out, CHECKPOINT_DIR);
  // Files of the user's in the folder are never overwritten: refused now, not after the training.
  const finalFiles = o.full ? [FULL_WEIGHTS_NAME] : [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME];
  requireOwnable(out, [...finalFiles, LOSS_CSV, LOSS_SVG]);
  requireOwnable(ckDir, [...finalFiles, OPTIMIZER_NAME, TRAINER_STATE_NAME]);
  const resuming = o.resume === true;
  if (!resuming && hasCheckpoint(ckDir)) throw new UserError(`${ckDir} already holds a checkpoint: pass --resume to continue it, or choose another --out`);
  const ck = resuming ? loadCheckpoint(ckDir, spec, o.full === true) : undefined;
  const { model, peft } = targetModel(spec, o, folder, info, ck?.config);
  const s = resolveTrainSettings(model, o);
  if (ck) {
    const saved = (ck.state.extra?.settings ?? {}) as Partial<TrainSettings>;
    const diff = resumeMismatches(saved, s);
    if (diff.length) throw new UserError(`--resume: the checkpoint was trained with other settings (${diff.join(', ')}); pass the same flags`);
    if (ck.state.step > s.steps) throw new UserError(`--resume: the checkpoint is at step ${ck.state.step}, past --steps ${s.steps}`);
  }
  // A model folder's own tokenizer wins over what a checkpoint recorded (the folder may have moved).
  const saved = folder ? undefined : (ck?.state.extra?.tokenizer as string | undefined);
  const tok: Tokenizer = await tokenizerFor(model, o.tokenizer ?? saved, { folder: folder?.dir });
  const data: TrainData = loadTrainData(o.data, tok, { seq: s.seq, seed: s.seed, evalFraction: s.evalFraction });
  const base = await baseFor(model, o, folder, s.seed);
  const heldOut = data.heldOut && s.evalEvery > 0 ? evenlySpacedRows(data.heldOut, s.evalRows) : undefined;
  const heldOutNote = heldOut && heldOut.count < data.heldOut!.count ? ` (evaluating ${heldOut.count} evenly spaced of them: --eval-rows)` : '';

  info(`spec:     ${model.file} (${model.counts.base.toLocaleString('en-US')} base parameters)`);
  info(`weights:  ${base.description}`);
  if (o.full) info(`training: every base weight (full fine-tuning), ${model.counts.base.toLocaleString('en-US')} parameters`);
  else info(`training: LoRA r=${peft!.r} alpha=${peft!.lora_alpha} on ${model.lora.length} modules (${model.lora.map((l) => l.module.slice(l.module.lastIndexOf('.') + 1)).filter((v, i, a) => a.indexOf(v) === i).join(', ')}), ${model.counts.adapter.toLocaleString('en-US')} parameters; ${trainedBaseNote(model)}`);
  info(`data:     ${o.data}: ${data.examples} examples, ${data.train.count} rows of ${s.seq} tokens (${data.packing}), ${(data.heldOut?.count ?? 0).toLocaleString('en-US')} held out${heldOutNote}, tokenizer ${tok.name}`);
  info(`run:      ${s.steps} steps, batch ${s.batch}${s.gradAccum > 1 ? ` x ${s.gradAccum} accumulated` : ''}, AdamW lr ${s.lr} (${s.schedule}, warm-up ${s.warmup}), clip ${s.maxGradNorm || 'off'}, seed ${s.seed}, backend ${o.backend}${s.recompute === 'blocks' ? ', recompute blocks' : ''}`);

  const adamw = { beta1: s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay, gradAccum: s.gradAccum, ...(s.maxGradNorm > 0 ? { maxGradNorm: s.maxGradNorm } : {}) };
  const target = executorTarget(o);
  // Frozen base weights keep the file's dtype on the device (bf16 stays bf16); full fine-tuning
  // trains f32 copies of them (the storage pass keeps only frozen weights 16-bit).
  const paramDtypes = base.paramDtypes ? { paramDtypes: base.paramDtypes } : {};
  const exec = await createExecutor(compile(model, { mode: 'train', batch: s.batch, seq: s.seq, fullFinetune: o.full, adamw, dropoutSeed: s.seed, recompute: s.recompute, target, ...paramDtypes }), o);
  let evalExec: Executor | undefined;
  try {
    const set = await base.upload(exec);
    // PEFT's inits read a base weight only where they need it (DoRA, PiSSA, OLoRA): decoded then.
    if (!o.full) set.push(...setWeights(exec, initAdapterWeights(model, base.decodedOnUse(), mixSeed(s.seed, 1))));
    requireAllSet(exec, set);
    ck?.apply(exec);
    if (heldOut) {
      // --full evaluates the trained f32 weights, copied in at each evaluation: no 16-bit storage there.
      evalExec = await createExecutor(compile(model, { mode: 'eval', batch: s.batch, seq: s.seq, target, ...(o.full ? {} : paramDtypes) }), o);
      await base.upload(evalExec);
    }
    const trained = trainedWeights(exec);
    const startStep = ck?.state.step ?? 0;
    const history: LossRecord[] = (ck?.state.loss_history ?? []).filter((h) => h.step <= startStep);
    const rng = new Rng(mixSeed(s.seed, 2));
    if (ck) rng.setState(ck.state.rng_state);
    const sched = scheduleOf(s);
    const loader = new BatchLoader(data.train, { batchSize: s.batch, seed: s.seed, ...(ck ? { cursor: ck.state.data_cursor } : {}) });

    // The loss log restarts from the checkpoint's history, so rows logged after the last checkpoint
    // by a killed run are dropped and the resumed run continues the same curve.
    const csvFile = path.join(out, LOSS_CSV);
    const csvText = () => csvRow(CSV_COLUMNS) + '\n' + history.map((h) => csvLine(h, sched)).join('');
    commitFiles(out, { [LOSS_CSV]: csvText() });
    if (ck) info(`resuming from ${ckDir} at step ${startStep}`);

    let lastSaved = startStep;
    let lastEval = startStep;
    // trainLoop hands the loss to onStep just before onGoodStep for the same step.
    let lastLoss = NaN;
    const save = async (steps: number, cursor: TrainerState['data_cursor']) => {
      const state: TrainerState = {
        format: TRAINER_STATE_FORMAT,
        version: 1,
        step: steps,
        data_cursor: cursor,
        rng_state: rng.getState(),
        optimizer: { name: 'adamw', lr: s.lr, betas: [s.beta1, s.beta2], eps: s.eps, weight_decay: s.weightDecay },
        loss_history: history,
        extra: { settings: s, tokenizer: tok.name, spec: model.file, ...(o.model !== undefined ? { model: o.model } : {}), data: o.data, full: o.full === true },
      };
      await saveCheckpoint(ckDir, exec, model, o.full === true, peft, state);
      lastSaved = steps;
    };
    rep.start?.(s.steps, startStep);
    try {
      await trainLoop(
        exec,
        loader,
        { steps: s.steps, schedule: sched, adamw, logEvery: s.logEvery, evalEvery: 0, startStep },
        {
          onStep: (st) => {
            lastLoss = st.loss;
            rep.step?.(st);
          },
          onGoodStep: async (step, cursor) => {
            const done = step + 1;
            const last = done === s.steps;
            const rec: LossRecord = { step: done, loss: lastLoss };
            // Evaluation and saving happen at logged steps (the loss is known finite there); a due
            // point between two logged steps moves to the next logged one.
            if (evalExec && (Math.floor(done / s.evalEvery) > Math.floor(lastEval / s.evalEvery) || last)) {
              const evalSlots = weightSlots(evalExec.graph);
              for (const w of trained) setWeight(evalExec, evalSlots.get(w), await getWeight(exec, w));
              const evalLoss = await evaluate(evalExec, heldOut!, s.batch);
              lastEval = done;
              if (evalLoss !== undefined) {
                if (!Number.isFinite(evalLoss)) throw new NonFiniteLossError(step, evalLoss, 'held-out loss');
                rec.eval_loss = evalLoss;
                rep.log?.(`step ${done}: held-out loss ${evalLoss.toFixed(4)}`);
              }
            }
            history.push(rec);
            try {
              fs.appendFileSync(csvFile, csvLine(rec, sched));
            } catch (err) {
              ioError(err, csvFile, 'write');
            }
            if (Math.floor(done / s.saveEvery) > Math.floor(lastSaved / s.saveEvery) || last) await save(done, cursor);
          },
        },
      );
    } catch (err) {
      if (!(err instanceof NonFiniteLossError)) throw err;
      rep.stop?.();
      commitFiles(out, { [LOSS_SVG]: await lossCurveSvg(history, `${model.name}: stopped at step ${err.step + 1}`) });
      const kept = hasCheckpoint(ckDir) ? `the last good checkpoint (step ${lastSaved}) is kept in ${ckDir}` : 'no checkpoint had been saved yet';
      throw new UserError(`${err.what} became ${err.loss} at step ${err.step + 1}; training stopped: ${nonFiniteCause(err, startStep, s)}; ${kept}`);
    }
    rep.stop?.();

    // The final weights, the loss log and its plot replace the previous ones together or not at all.
    const outputs = await finalOutputs(exec, model, peft, base.file, o.full === true, s.steps);
    // Every device error of the run surfaces here at the latest: nothing is written after one.
    await exec.check();
    outputs[LOSS_CSV] = csvText();
    outputs[LOSS_SVG] = await lossCurveSvg(history, `${model.name} (${path.basename(o.data)})`);
    commitFiles(out, outputs);
    return { settings: s, history, startStep, outDir: out, files: [...Object.keys(outputs), `${CHECKPOINT_DIR}/`] };
  } finally {
    exec.destroy();
    evalExec?.destroy();
  }
}

/**
 * Why the loss is not finite. At the run's first step no update has happened yet: the loaded
 * weights (checked finite on load) overflow in the forward pass, and the learning rate is not the cause.
 */
function nonFiniteCause(err: NonFiniteLossError, startStep: number, s: TrainSettings): string {
  if (err.step === startStep && err.what === 'loss') {
    return `the forward pass before any update of this run is not finite, so the weights or data overflow float32 (the weights were checked finite on load; look for huge values or --set sizes), not the learning rate`;
  }
  return `the updates diverged (try a lower --lr than ${s.lr}${s.maxGradNorm > 0 ? '' : ', or --max-grad-norm 1'})`;
}

/** The run's final weight files, by name, checked finite. */
async function finalOutputs(exec: Executor, model: CheckedModel, peft: PeftConfig | undefined, input: SafetensorsFile | undefined, full: boolean, step: number): Promise<Record<string, Uint8Array | string>> {
  if (full) {
    const weights: WeightMap = new Map();
    for (const w of model.weights) if (w.tiedTo === undefined) weights.set(w.name, await getWeight(exec, w.name));
    return { [FULL_WEIGHTS_NAME]: modelFileBytes(model, weights, input, `after step ${step}`) };
  }
  const adapter = await readAdapterFromExecutor(exec, model, peft);
  requireFiniteTrained(adapterTensors(adapter), step);
  const files = writeAdapter(adapter);
  return { [ADAPTER_CONFIG_NAME]: files.config, [ADAPTER_WEIGHTS_NAME]: files.weights };
}
