// `rankfold verify CASE_DIR`: reproduce a Hugging Face transformers + PEFT reference run (the
// folder format of test/fixtures/conformance, documented in spec/checkpoints.md) and compare every
// number: logits and loss, gradients, one AdamW step, the merged model.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { paramNameForKey } from '../../compiler/lora/keys.ts';
import { UserError } from '../../compiler/errors.ts';
import type { BackendName, Executor } from '../exec/executor.ts';
import type { GpuContext } from '../device/device.ts';
import { readAdapterDir, readSafetensorsFile } from '../io/node-fs.ts';
import type { Adapter } from '../io/peft.ts';
import type { SafetensorsFile } from '../io/safetensors.ts';
import { applyPeftConfig } from '../adapters/apply-peft.ts';
import { compile } from '../../compiler/compile.ts';
import { createExecutor, executorTarget } from '../exec/create.ts';
import { feedTokens } from '../model/feeds.ts';
import { loadFolderSpec, readFolderWeights, withModelFolder } from '../model/folder-model.ts';
import type { ModelFolder } from '../io/model-folder.ts';
import { mergeAdapterWeights, stripAdapters } from '../adapters/merge-model.ts';
import { setWeights, type WeightMap } from '../model/weights.ts';
import { adapterWeights } from '../adapters/adapter-weights.ts';
import { optimHyper } from '../../compiler/optim/adamw.ts';
import { compareTensors, type CheckResult } from './compare.ts';

export interface Tolerances {
  logits: number;
  loss: number;
  grads: number;
  adapter: number;
  merged: number;
}

/**
 * Tolerances by the dtype the reference computed in (expected.json's compute_dtype, default
 * float32); never loosened to make a check pass. float32: the fixtures' README (a bf16-stored base
 * upcast to f32, as in the bf16 reference cases, is float32 compute: its weights are exact in f32).
 * bfloat16 compute (activations rounded to 8 significant bits after every op, which Rankfold's f32
 * kernels do not do): about 2^-8 relative per op, a few ops deep.
 */
export const TOLERANCES_BY_DTYPE: Record<string, Tolerances> = {
  float32: { logits: 1e-4, loss: 1e-4, grads: 1e-4, adapter: 1e-4, merged: 1e-4 },
  bfloat16: { logits: 5e-2, loss: 2e-2, grads: 5e-2, adapter: 1e-2, merged: 1e-2 },
};

/** The float32 tolerances (the fixtures' README). */
export const TOLERANCES = TOLERANCES_BY_DTYPE['float32']!;

interface Expected {
  loss: number;
  loss_after_step: number;
  loss_merged_after_step: number;
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
  /** The dtype the reference's forward and backward ran in (default float32). */
  compute_dtype?: string;
}

export interface VerifyOptions {
  backend: BackendName;
  gpu?: GpuContext;
  /**
   * The base model as a Hugging Face model folder (config.json + model.safetensors or an index and
   * shards), when it is not the case folder itself (whose config.json and weights are one too).
   */
  model?: string;
  /** A spec file to use instead of the shipped one for the config's model_type. */
  spec?: string;
  /** Called as each check completes (for progress output). */
  onCheck?: (r: CheckResult) => void;
  /** Called with notes on the case: the dtypes and tolerances, config keys the spec does not read. */
  onNote?: (text: string) => void;
}

function readJson<T>(file: string): T {
  if (!existsSync(file)) throw new UserError(`${file}: not found`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new UserError(`${file}: invalid JSON (${(err as Error).message})`);
  }
}

export async function verifyCase(dir: string, o: VerifyOptions): Promise<CheckResult[]> {
  return withModelFolder(o.model ?? dir, (folder) => verifyWith(dir, folder, o));
}

async function verifyWith(dir: string, folder: ModelFolder, o: VerifyOptions): Promise<CheckResult[]> {
  const configFile = join(folder.dir, 'config.json');
  const expected = readJson<Expected>(join(dir, 'expected.json'));
  const computeDtype = expected.compute_dtype ?? 'float32';
  const TOLERANCES = TOLERANCES_BY_DTYPE[computeDtype];
  if (!TOLERANCES) throw new UserError(`${join(dir, 'expected.json')}: compute_dtype "${computeDtype}" has no tolerances (known: ${Object.keys(TOLERANCES_BY_DTYPE).join(', ')})`);
  // The spec of the config's model_type (or o.spec); the config's fields are bound or refused by it,
  // and the folder's tensors must be the spec's.
  const loaded = loadFolderSpec(folder, o.spec !== undefined ? { spec: o.spec } : {});
  if (loaded.unread.length) o.onNote?.(`${configFile}: keys ${loaded.specFile} does not read: ${loaded.unread.join(', ')}`);
  const adapter = readAdapterDir(join(dir, 'adapter'));
  const model = applyPeftConfig(loaded.model, adapter.config, join(dir, 'adapter', 'adapter_config.json'));
  const io = readSafetensorsFile(join(dir, 'io.safetensors'));
  const ids = io.getInt32('input_ids');
  const [batch, seq] = io.info('input_ids').shape as [number, number];
  // A bf16 or f16 base is read as stored and widened to f32 exactly (toFloat32).
  const stored = [...new Set(folder.tensors.map((t) => t.dtype))].join('+');
  o.onNote?.(`spec ${loaded.specFile}; base stored as ${stored}, reference computed in ${computeDtype}: tolerances logits/loss ${TOLERANCES.logits}/${TOLERANCES.loss} abs, grads/adapter/merged ${TOLERANCES.grads}/${TOLERANCES.adapter}/${TOLERANCES.merged} rel`);
  const base = await readFolderWeights(model, folder);
  const lora = adapterWeights(model, adapter, join(dir, 'adapter'), { base });
  const results: CheckResult[] = [];
  const add = (r: CheckResult) => {
    results.push(r);
    o.onCheck?.(r);
  };
  const adamw = { beta1: expected.adamw.betas[0], beta2: expected.adamw.betas[1], eps: expected.adamw.eps, weightDecay: expected.adamw.weight_decay };
  const target = executorTarget(o);
  const make = (m: CheckedModel, mode: 'train' | 'eval') => createExecutor(compile(m, { mode, batch, seq, adamw, target }), o);
  const forward = async (exec: Executor, weights: WeightMap[]) => {
    for (const w of weights) setWeights(exec, w);
    feedTokens(exec, ids, batch, seq, ids);
    exec.run();
    return { logits: await exec.read('logits'), loss: (await exec.read('loss'))[0]! };
  };

  // 1. Forward, 2. backward and 3. one AdamW step, all in one training step.
  const train = await make(model, 'train');
  train.setInput('optim', optimHyper(expected.adamw.lr, 1, adamw));
  const before = await forward(train, [base, lora]);
  add(compareTensors('logits', before.logits, io.getFloat32('logits'), 'abs', TOLERANCES.logits));
  add(compareTensors('loss', [before.loss], [expected.loss], 'abs', TOLERANCES.loss));
  const grads = readSafetensorsFile(join(dir, 'grads.safetensors'));
  for (const key of grads.names) {
    add(compareTensors(`grad ${shortKey(key)}`, await train.readGrad(ourParamName(key)), grads.getFloat32(key), 'rel', TOLERANCES.grads));
  }
  const stepped = readSafetensorsFile(join(dir, 'adapter_after_adamw_step.safetensors'));
  const steppedLora: WeightMap = new Map();
  for (const key of stepped.names) {
    const ours = await train.getParam(ourParamName(key));
    steppedLora.set(ourParamName(key), ours);
    add(compareTensors(`adamw ${shortKey(key)}`, ours, stepped.getFloat32(key), 'rel', TOLERANCES.adapter));
  }
  train.destroy();

  // Forward again with the stepped adapter.
  const evalExec = await make(model, 'eval');
  const after = await forward(evalExec, [base, lora, steppedLora]);
  add(compareTensors('logits after step', after.logits, io.getFloat32('logits_after_step'), 'abs', TOLERANCES.logits));
  add(compareTensors('loss after step', [after.loss], [expected.loss_after_step], 'abs', TOLERANCES.loss));
  evalExec.destroy();

  // 4. Merge (merge_and_unload) and run the plain model.
  // Trained base tensors (biases, modules_to_save copies) in steppedLora replace the base ones.
  const merged = mergeAdapterWeights(model, base, new Map([...lora, ...steppedLora]));
  const refMerged = readSafetensorsFile(join(dir, 'merged_after_step.safetensors'));
  for (const name of mergedNamesToCheck(model, refMerged)) {
    add(compareTensors(`merged ${name}`, merged.get(name)!, refMerged.getFloat32(name), 'rel', TOLERANCES.merged));
  }
  const plain = stripAdapters(model);
  const mergedExec = await make(plain, 'eval');
  const m = await forward(mergedExec, [merged]);
  add(compareTensors('logits merged', m.logits, io.getFloat32('logits_merged_after_step'), 'abs', TOLERANCES.logits));
  add(compareTensors('loss merged', [m.loss], [expected.loss_merged_after_step], 'abs', TOLERANCES.loss));
  mergedExec.destroy();
  return results;
}

/**
 * "base_model.model.X.lora_A.default.weight" -> our parameter name "X.lora_A.weight"; a trained
 * base tensor ("X.base_layer.bias", "X.modules_to_save.default.weight") -> its weight name.
 */
function ourParamName(key: string): string {
  const name = paramNameForKey(key);
  if (name === undefined) throw new UserError(`unrecognized adapter tensor name "${key}"`);
  return name;
}

function shortKey(key: string): string {
  return paramNameForKey(key) ?? key;
}

/** The adapted weights (the rest must equal the base and are checked too, cheaply). */
function mergedNamesToCheck(model: CheckedModel, ref: SafetensorsFile): string[] {
  const ours = new Set(model.weights.filter((w) => w.role !== 'adapter' && w.tiedTo === undefined).map((w) => w.name));
  const missing = ref.names.filter((n) => !ours.has(n) && !model.weights.some((w) => w.name === n && w.tiedTo));
  if (missing.length > 0) throw new UserError(`merged reference has tensors the spec does not know: ${missing.slice(0, 3).join(', ')}`);
  return ref.names.filter((n) => ours.has(n));
}

export type { Adapter };
