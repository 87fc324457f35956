import type { RegisterCommand } from './command.ts';
import { unmergeAdapterFromBase } from '../../../runtime/adapters/merge-files.ts';
import { setArg } from '../options.ts';
import { mergeRequest, type MergeFlags } from './merge.ts';

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
    .action(async (spec: string | undefined, flags: MergeFlags) => {
      const r = await unmergeAdapterFromBase(mergeRequest(spec, flags));
      console.log(`took ${flags.adapter} out of ${r.mergedLayers} layers of ${flags.weights ?? flags.model}; wrote ${flags.out}`);
    });
};
