// Training checkpoints: a PEFT adapter directory (loadable by PEFT as is) plus the state needed to
// resume exactly: AdamW moments in optimizer.safetensors and step / data cursor / RNG / loss history
// in trainer_state.json. spec/checkpoints.md documents the layout. Pure: node-fs.ts writes the
// files together with writeDirAtomic so a checkpoint is replaced whole or not at all.
import { UserError, oneLine } from '../../compiler/errors.ts';
import type { DataCursor } from '../data/loader.ts';
import type { RngState } from '../data/rng.ts';
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, readAdapter, writeAdapter, type Adapter, type FloatTensor } from './peft.ts';
import { parseSafetensors, serializeSafetensors, type TensorInput } from './safetensors.ts';

export const OPTIMIZER_NAME = 'optimizer.safetensors';
export const TRAINER_STATE_NAME = 'trainer_state.json';
export const TRAINER_STATE_FORMAT = 'rankfold-trainer-state';

export interface AdamMoments {
  exp_avg: FloatTensor;
  exp_avg_sq: FloatTensor;
}

export interface TrainerState {
  format: typeof TRAINER_STATE_FORMAT;
  version: 1;
  /** Optimizer steps taken (AdamW's bias correction uses it). */
  step: number;
  data_cursor: DataCursor;
  rng_state: RngState;
  optimizer: { name: 'adamw'; lr: number; betas: [number, number]; eps: number; weight_decay: number };
  loss_history: { step: number; loss: number; eval_loss?: number }[];
  /** Anything else the trainer wants back (schedule, spec path, tokenizer name). */
  extra?: Record<string, unknown>;
}

export interface Checkpoint {
  adapter: Adapter;
  /** AdamW moments keyed by the parameter's adapter key, e.g. "base_model.model.X.lora_A.weight". */
  moments: Map<string, AdamMoments>;
  state: TrainerState;
}

export function serializeCheckpoint(ck: Checkpoint): Record<string, Uint8Array | string> {
  const files = writeAdapter(ck.adapter);
  const opt = new Map<string, TensorInput>();
  for (const [key, m] of ck.moments) {
    opt.set(`${key}.exp_avg`, m.exp_avg);
    opt.set(`${key}.exp_avg_sq`, m.exp_avg_sq);
  }
  return {
    [ADAPTER_CONFIG_NAME]: files.config,
    [ADAPTER_WEIGHTS_NAME]: files.weights,
    [OPTIMIZER_NAME]: serializeSafetensors(opt, { format: TRAINER_STATE_FORMAT, step: String(ck.state.step) }),
    [TRAINER_STATE_NAME]: JSON.stringify(ck.state, null, 2) + '\n',
  };
}

export function parseCheckpoint(files: { config: string; weights: Uint8Array; optimizer: Uint8Array; state: string }, source = 'checkpoint'): Checkpoint {
  const adapter = readAdapter({ config: files.config, weights: files.weights }, source);
  let state: TrainerState;
  try {
    state = JSON.parse(files.state) as TrainerState;
  } catch (err) {
    throw new UserError(`${source}/${TRAINER_STATE_NAME}: not valid JSON (${oneLine((err as Error).message)})`);
  }
  if (state?.format !== TRAINER_STATE_FORMAT || state.version !== 1) {
    throw new UserError(`${source}/${TRAINER_STATE_NAME}: not a Rankfold trainer state (format ${JSON.stringify(state?.format)}, version ${JSON.stringify(state?.version)})`);
  }
  if (!Number.isInteger(state.step) || state.step < 0) throw new UserError(`${source}/${TRAINER_STATE_NAME}: bad step ${JSON.stringify(state.step)}`);
  const st = parseSafetensors(files.optimizer, `${source}/${OPTIMIZER_NAME}`);
  const moments = new Map<string, AdamMoments>();
  for (const name of st.names) {
    const m = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(name);
    if (!m) throw new UserError(`${source}/${OPTIMIZER_NAME}: unexpected tensor "${name}"`);
    const t = st.get(name);
    if (!(t.data instanceof Float32Array)) throw new UserError(`${source}/${OPTIMIZER_NAME}: tensor "${name}" is not a float tensor`);
    const entry = moments.get(m[1]!) ?? ({} as AdamMoments);
    entry[m[2] as 'exp_avg' | 'exp_avg_sq'] = { shape: t.shape, data: t.data };
    moments.set(m[1]!, entry);
  }
  for (const [key, m] of moments) {
    if (!m.exp_avg || !m.exp_avg_sq) throw new UserError(`${source}/${OPTIMIZER_NAME}: "${key}" lacks ${m.exp_avg ? 'exp_avg_sq' : 'exp_avg'}`);
  }
  return { adapter, moments, state };
}
