// Saving and restoring a training job's whole state (spec/checkpoints.md section 3): the trained
// parameters, AdamW's moments read from the executor's optimizer state, and trainer_state.json.
// An adapter run's checkpoint is also a PEFT adapter directory. A full fine-tune (--full) has no
// adapter, so its checkpoint holds model.safetensors instead, under the same atomic directory write.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { UserError, oneLine } from '../../compiler/errors.ts';
import { stateNames, type Executor } from '../exec/executor.ts';
import { writeDirAtomic } from '../io/atomic.ts';
import { OPTIMIZER_NAME, TRAINER_STATE_NAME, TRAINER_STATE_FORMAT, type AdamMoments, type TrainerState } from '../io/checkpoint.ts';
import { readCheckpointDir, readFileBytes, readTextFile, writeCheckpointDir } from '../io/node-fs.ts';
import { PEFT_KEY_PREFIX, loraKey, type Adapter, type FloatTensor, type PeftConfig } from '../io/peft.ts';
import { parseSafetensors, serializeSafetensors, type TensorInput } from '../io/safetensors.ts';
import { setWeights, type WeightMap } from '../model/weights.ts';
import { adapterWeights, readAdapterFromExecutor } from '../adapters/adapter-weights.ts';
import { requireFinite } from '../model/finite.ts';
import { getWeight, setWeight, weightShape, weightSlots } from '../exec/weight-slots.ts';

export const FULL_WEIGHTS_NAME = 'model.safetensors';

/**
 * Weights AdamW updates, by model name: those whose parameter has `<name>.exp_avg` state in the
 * graph (a weight the compiler split into row chunks counts once, under its own name).
 */
export function trainedWeights(exec: Executor): string[] {
  const trained = new Set(stateNames(exec.graph).filter((s) => s.endsWith('.exp_avg')).map((s) => s.slice(0, -'.exp_avg'.length)));
  return [...weightSlots(exec.graph)].filter(([, slots]) => slots.some((s) => trained.has(s.param))).map(([name]) => name);
}

async function readMoments(exec: Executor, keyOf: (weight: string) => string): Promise<Map<string, AdamMoments>> {
  const slots = weightSlots(exec.graph);
  const out = new Map<string, AdamMoments>();
  for (const w of trainedWeights(exec)) {
    const shape = weightShape(slots.get(w)!);
    const moment = (which: string) => getWeight(exec, w, (p) => exec.getState(`${p}.${which}`));
    out.set(keyOf(w), { exp_avg: { shape, data: await moment('exp_avg') }, exp_avg_sq: { shape, data: await moment('exp_avg_sq') } });
  }
  return out;
}

function restoreMoments(exec: Executor, moments: Map<string, AdamMoments>, keyOf: (weight: string) => string, source: string): void {
  const slots = weightSlots(exec.graph);
  for (const w of trainedWeights(exec)) {
    const m = moments.get(keyOf(w));
    if (!m) throw new UserError(`${source}: no AdamW moments for "${keyOf(w)}" (checkpoint of a different model?)`);
    requireFinite(m.exp_avg.data, `${source}/${OPTIMIZER_NAME}`, `${keyOf(w)}.exp_avg`, m.exp_avg.shape);
    requireFinite(m.exp_avg_sq.data, `${source}/${OPTIMIZER_NAME}`, `${keyOf(w)}.exp_avg_sq`, m.exp_avg_sq.shape);
    for (const which of ['exp_avg', 'exp_avg_sq'] as const) {
      setWeight(exec, slots.get(w), m[which].data, (p, d) => exec.setState(`${p}.${which}`, d as Float32Array));
    }
  }
}

const adapterKey = (param: string) => PEFT_KEY_PREFIX + param;

export interface SavedState {
  state: TrainerState;
  /** Parameters to load into a fresh executor (the adapter, or every weight for --full). */
  weights: WeightMap;
}

/** Trained values must be finite to be saved: a diverged run stops here and keeps its last good checkpoint. */
export function requireFiniteTrained(tensors: Iterable<[string, { shape: readonly number[]; data: Float32Array }]>, step: number): void {
  for (const [name, t] of tensors) requireFinite(t.data, `after step ${step}`, name, t.shape, 'the training diverged (try a lower --lr); nothing written for this step');
}

/** An adapter's tensors under their PEFT keys, for requireFiniteTrained. */
export function adapterTensors(adapter: Adapter): [string, FloatTensor][] {
  const out: [string, FloatTensor][] = [];
  for (const [module, t] of adapter.tensors) {
    out.push([loraKey(module, 'A'), t.A], [loraKey(module, 'B'), t.B]);
    if (t.magnitude) out.push([loraKey(module, 'magnitude'), t.magnitude]);
    if (t.biasB) out.push([loraKey(module, 'biasB'), t.biasB]);
  }
  return [...out, ...adapter.others];
}

export async function saveCheckpoint(dir: string, exec: Executor, model: CheckedModel, full: boolean, config: PeftConfig | undefined, state: TrainerState): Promise<void> {
  if (!full) {
    const adapter = await readAdapterFromExecutor(exec, model, config);
    requireFiniteTrained(adapterTensors(adapter), state.step);
    writeCheckpointDir(dir, { adapter, moments: await readMoments(exec, adapterKey), state });
    return;
  }
  const tensors = new Map<string, TensorInput>();
  const opt = new Map<string, TensorInput>();
  for (const [name, slots] of weightSlots(exec.graph)) tensors.set(name, { shape: weightShape(slots), data: await getWeight(exec, name) });
  for (const [key, m] of await readMoments(exec, (p) => p)) {
    opt.set(`${key}.exp_avg`, m.exp_avg);
    opt.set(`${key}.exp_avg_sq`, m.exp_avg_sq);
  }
  requireFiniteTrained([...tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data as Float32Array }]), state.step);
  writeDirAtomic(dir, {
    [FULL_WEIGHTS_NAME]: serializeSafetensors(tensors, { format: 'pt' }),
    [OPTIMIZER_NAME]: serializeSafetensors(opt, { format: TRAINER_STATE_FORMAT, step: String(state.step) }),
    [TRAINER_STATE_NAME]: JSON.stringify(state, null, 2) + '\n',
  });
}

/** Whether `dir` holds a checkpoint. Reads only: the run that writes there recovers it first (OutputDir). */
export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, TRAINER_STATE_NAME));
}

/** Reads a checkpoint; `apply` then loads it into an executor built for the same model. */
export function loadCheckpoint(dir: string, model: CheckedModel, full: boolean): SavedState & { config?: PeftConfig; apply(exec: Executor): void } {
  if (!hasCheckpoint(dir)) throw new UserError(`${dir}: no checkpoint to resume from`);
  if (!full) {
    if (!fs.existsSync(path.join(dir, 'adapter_config.json'))) throw new UserError(`${dir}: a full fine-tuning checkpoint; resume it with --full`);
    const ck = readCheckpointDir(dir);
    return {
      state: ck.state,
      config: ck.adapter.config,
      // The caller re-targets the model from ck.adapter.config before building, so shapes agree.
      get weights() {
        return adapterWeights(model, ck.adapter, dir, { residualInPlace: true });
      },
      apply(exec) {
        // The run set the base (and any PiSSA/OLoRA residual) before restoring the checkpoint.
        setWeights(exec, adapterWeights(model, ck.adapter, dir, { residualInPlace: true }));
        restoreMoments(exec, ck.moments, adapterKey, dir);
      },
    };
  }
  const file = path.join(dir, FULL_WEIGHTS_NAME);
  if (!fs.existsSync(file)) throw new UserError(`${dir}: an adapter checkpoint; resume it without --full`);
  let state: TrainerState;
  try {
    state = JSON.parse(readTextFile(path.join(dir, TRAINER_STATE_NAME))) as TrainerState;
  } catch (err) {
    throw new UserError(`${dir}/${TRAINER_STATE_NAME}: not valid JSON (${oneLine((err as Error).message)})`);
  }
  if (state?.format !== TRAINER_STATE_FORMAT) throw new UserError(`${dir}/${TRAINER_STATE_NAME}: not a Rankfold trainer state`);
  const st = parseSafetensors(readFileBytes(file), file);
  const weights: WeightMap = new Map(st.names.map((n) => [n, st.getFloat32(n)]));
  for (const [n, data] of weights) requireFinite(data, file, n, st.info(n).shape);
  const opt = parseSafetensors(readFileBytes(path.join(dir, OPTIMIZER_NAME)), path.join(dir, OPTIMIZER_NAME));
  const moments = new Map<string, AdamMoments>();
  for (const n of opt.names) {
    const m = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(n);
    if (!m) continue;
    const e = moments.get(m[1]!) ?? ({} as AdamMoments);
    e[m[2] as 'exp_avg' | 'exp_avg_sq'] = { shape: opt.info(n).shape, data: opt.getFloat32(n) };
    moments.set(m[1]!, e);
  }
  return {
    state,
    weights,
    apply(exec) {
      setWeights(exec, weights);
      restoreMoments(exec, moments, (p) => p, dir);
    },
  };
}
