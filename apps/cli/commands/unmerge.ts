import type { RegisterCommand } from './command.ts';
import { unmergeAdapterFromBase } from '../../../runtime/adapters/merge-files.ts';
import { readConfigOption, setArg, type SetValues } from '../options.ts';

interface UnmergeFlags {
  weights: string;
  adapter: string;
  out: string;
  config?: string;
  set?: SetValues;
}

/**
 * `rankfold unmerge SPEC --weights MERGED --adapter DIR --out BASE`: PEFT's unmerge_adapter, on
 * files. A model folder (`--model DIR`) plugs into runtime/adapters/merge-files.ts's modelInput.
 */
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
      const { weights, adapter, out } = flags;
      const r = unmergeAdapterFromBase({ spec, config: readConfigOption(flags.config), set: flags.set, weights, adapter, out });
      console.log(`took ${adapter} out of ${r.mergedLayers} layers of ${weights}; wrote ${out}`);
    });
};
