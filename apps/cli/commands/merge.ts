import type { RegisterCommand } from './command.ts';
import { mergeAdapterIntoBase } from '../../../runtime/adapters/merge-files.ts';
import { readConfigOption, setArg, type SetValues } from '../options.ts';

interface MergeFlags {
  weights: string;
  adapter: string;
  out: string;
  config?: string;
  set?: SetValues;
}

/** `rankfold merge SPEC --weights FILE --adapter DIR --out FILE`: PEFT's merge_and_unload, on files. */
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
      const { weights, adapter, out } = flags;
      const r = mergeAdapterIntoBase({ spec, config: readConfigOption(flags.config), set: flags.set, weights, adapter, out });
      console.log(`merged ${adapter} into ${r.mergedLayers} layers of ${weights}; wrote ${out}`);
    });
};
