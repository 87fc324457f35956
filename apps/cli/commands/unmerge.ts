import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { unmergeAdapterFromBase } from '../../../runtime/adapters/merge-files.ts';
import { readConfigOption, setArg, type SetValues } from '../options.ts';

interface UnmergeFlags {
  model?: string;
  weights?: string;
  adapter: string;
  out: string;
  config?: string;
  set?: SetValues;
  maxShardSize?: string;
  overwrite?: boolean;
}

/**
 * `rankfold unmerge --model DIR [--weights MERGED_DIR] --adapter A --out BASE_DIR` or
 * `rankfold unmerge SPEC --weights MERGED --adapter A --out BASE`: PEFT's unmerge_adapter, on files.
 */
export const registerUnmerge: RegisterCommand = (program) => {
  program
    .command('unmerge')
    .description('take a merged PEFT LoRA adapter out of merged weights, giving back the base (PEFT unmerge_adapter)')
    .argument('[spec]', 'the model spec (.rf); with --model, overrides the shipped spec of its model_type')
    .option('--model <dir>', 'a Hugging Face model folder: the spec and config (and, without --weights, the merged weights); --out is then a model folder')
    .option('--weights <path>', 'the merged weights: a safetensors file (with a spec) or a model folder (with --model)')
    .requiredOption('--adapter <dir>', 'the PEFT adapter that was merged into them')
    .requiredOption('--out <path>', 'the base model folder (with --model) or safetensors file to write')
    .option('--config <config.json>', 'bind spec parameters from a Hugging Face config.json')
    .option('--set <name=value>', 'set a spec parameter (repeatable)', setArg)
    .option('--max-shard-size <size>', 'with --model: the largest shard, e.g. 5GB (the default) or 2GiB')
    .option('--overwrite', 'with --model: replace an existing model folder at --out')
    .action(async (spec: string | undefined, flags: UnmergeFlags) => {
      if (spec === undefined && flags.model === undefined) throw new UserError('give a spec file (with --weights) or --model with a Hugging Face model folder');
      if (flags.model === undefined && (flags.maxShardSize !== undefined || flags.overwrite)) throw new UserError('--max-shard-size and --overwrite apply to --model (a model folder out)');
      const { model, weights, adapter, out, maxShardSize, overwrite } = flags;
      const r = await unmergeAdapterFromBase({
        ...(spec !== undefined ? { spec } : {}),
        ...(model !== undefined ? { model } : {}),
        ...(weights !== undefined ? { weights } : {}),
        ...(maxShardSize !== undefined ? { maxShardSize } : {}),
        ...(overwrite ? { overwrite } : {}),
        config: readConfigOption(flags.config),
        set: flags.set,
        adapter,
        out,
      });
      console.log(`took ${adapter} out of ${r.mergedLayers} layers of ${weights ?? model}; wrote ${out}`);
    });
};
