import type { RegisterCommand } from './index.ts';
import { readAdapterDir, readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { applyPeftConfig } from '../../../runtime/adapters/apply-peft.ts';
import { mergeAdapterWeights, stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { adapterWeights, readBaseWeights } from '../../../runtime/model/weights.ts';
import { loadSpecWith, setArg, type SetValues } from '../options.ts';
import { writeModelFile } from '../../../runtime/model/base-weights.ts';
import * as path from 'node:path';

interface MergeFlags {
  weights: string;
  adapter: string;
  out: string;
  config?: string;
  set?: SetValues;
}

/**
 * Merges an adapter into base weights (PEFT's merge_and_unload): W = W0 + scaling·B·A for every
 * adapted layer. The result keeps the input's Hugging Face names (a tied pair written once, under
 * the name the input used) and its other tensors; every tensor is written as F32.
 */
export function mergeFiles(spec: string, flags: MergeFlags): { merged: number; tensors: number } {
  const { model: specModel } = loadSpecWith(spec, flags);
  const adapter = readAdapterDir(flags.adapter);
  const model = applyPeftConfig(specModel, adapter.config, path.join(flags.adapter, 'adapter_config.json'));
  const input = readSafetensorsFile(flags.weights);
  const base = readBaseWeights(model, input);
  const merged = mergeAdapterWeights(model, base, adapterWeights(model, adapter, flags.adapter));
  const plain = stripAdapters(model);
  writeModelFile(flags.out, plain, merged, input);
  return { merged: model.lora.length, tensors: input.names.length };
}

/** `rankfold merge SPEC --weights FILE --adapter DIR --out FILE`. */
export const registerMerge: RegisterCommand = (program) => {
  program
    .command('merge')
    .description('merge a PEFT LoRA adapter into base weights and write a plain safetensors model')
    .argument('<spec>', 'the model spec (.rf)')
    .requiredOption('--weights <file>', 'base weights (Hugging Face safetensors)')
    .requiredOption('--adapter <dir>', 'PEFT adapter directory (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--out <file>', 'merged safetensors file to write')
    .option('--config <config.json>', 'bind spec parameters from a Hugging Face config.json')
    .option('--set <name=value>', 'set a spec parameter (repeatable)', setArg)
    .action((spec: string, flags: MergeFlags) => {
      const r = mergeFiles(spec, flags);
      console.log(`merged ${flags.adapter} into ${r.merged} layers of ${flags.weights}; wrote ${flags.out}`);
    });
};
