import type { RegisterCommand } from './index.ts';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { readAdapterDir, readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import type { SafetensorsFile } from '../../../runtime/io/safetensors.ts';
import { unmergeAdapter } from '../../../runtime/adapters/merge-model.ts';
import { readBaseWeights } from '../../../runtime/model/weights.ts';
import { writeModelFile } from '../../../runtime/model/base-weights.ts';
import { loadSpecWith, setArg, type SetValues } from '../options.ts';

interface UnmergeFlags {
  weights: string;
  adapter: string;
  out: string;
  config?: string;
  set?: SetValues;
}

/**
 * The model and weights file to work on. Today a spec (+ --config) and --weights; a model folder
 * (`--model DIR`, config.json + safetensors) plugs in here once its loader exists.
 */
function modelInput(spec: string, flags: UnmergeFlags): { model: CheckedModel; file: SafetensorsFile } {
  return { model: loadSpecWith(spec, flags).model, file: readSafetensorsFile(flags.weights) };
}

/** Takes a merged adapter out of merged weights: the base back, within float tolerance. */
export function unmergeFiles(spec: string, flags: UnmergeFlags): { layers: number } {
  const { model, file } = modelInput(spec, flags);
  const adapter = readAdapterDir(flags.adapter);
  const r = unmergeAdapter(model, readBaseWeights(model, file), adapter, flags.adapter);
  writeModelFile(flags.out, r.plain, r.weights, file);
  return { layers: r.adapted.lora.length };
}

/** `rankfold unmerge SPEC --weights MERGED --adapter DIR --out BASE`. */
export const registerUnmerge: RegisterCommand = (program) => {
  program
    .command('unmerge')
    .description('take a merged PEFT LoRA adapter out of merged weights, giving back the base (PEFT unmerge_adapter)')
    .argument('<spec>', 'the model spec (.rf)')
    .requiredOption('--weights <file>', 'merged weights (Hugging Face safetensors)')
    .requiredOption('--adapter <dir>', 'the PEFT adapter that was merged into them')
    .requiredOption('--out <file>', 'base safetensors file to write')
    .option('--config <config.json>', 'bind spec parameters from a Hugging Face config.json')
    .option('--set <name=value>', 'set a spec parameter (repeatable)', setArg)
    .action((spec: string, flags: UnmergeFlags) => {
      const r = unmergeFiles(spec, flags);
      console.log(`took ${flags.adapter} out of ${r.layers} layers of ${flags.weights}; wrote ${flags.out}`);
    });
};
