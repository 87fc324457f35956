import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { mergeAdapterIntoBase, type MergeFilesOptions } from '../../../runtime/adapters/merge-files.ts';
import { readConfigOption, setArg, type SetValues } from '../options.ts';

/** The flags merge and unmerge share (unmerge's --weights are the merged weights). */
export interface MergeFlags {
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
 * `rankfold merge --model DIR --adapter A --out DIR2` (a Hugging Face folder in, one out, dtypes kept)
 * or `rankfold merge SPEC --weights FILE --adapter A --out FILE`: PEFT's merge_and_unload, on files.
 */
export const registerMerge: RegisterCommand = (program) => {
  program
    .command('merge')
    .description('merge a PEFT LoRA adapter into base weights: a Hugging Face model folder (same tensors and dtypes) or a safetensors file')
    .argument('[spec]', 'the model spec (.rf); with --model, overrides the shipped spec of its model_type')
    .option('--model <dir>', 'the base as a Hugging Face model folder; --out is then a model folder too')
    .option('--weights <file>', 'base weights (Hugging Face safetensors), with a spec')
    .requiredOption('--adapter <dir>', 'PEFT adapter directory (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--out <path>', 'the merged model folder (with --model) or safetensors file to write')
    .option('--config <config.json>', 'bind spec parameters from a Hugging Face config.json')
    .option('--set <name=value>', 'set a spec parameter (repeatable)', setArg)
    .option('--max-shard-size <size>', 'with --model: the largest shard, e.g. 5GB (the default) or 2GiB')
    .option('--overwrite', 'with --model: replace an existing model folder at --out')
    .action(async (spec: string | undefined, flags: MergeFlags) => {
      const r = await mergeAdapterIntoBase(mergeRequest(spec, flags));
      const files = r.shards ? ` (${r.shards.length} weight file${r.shards.length > 1 ? 's' : ''})` : '';
      console.log(`merged ${flags.adapter} into ${r.mergedLayers} layers of ${flags.model ?? flags.weights}; wrote ${flags.out}${files}`);
    });
};

/** The library request of a merge or unmerge from its command line (checked: a model or a spec, folder-only flags with --model). */
export function mergeRequest(spec: string | undefined, flags: MergeFlags): MergeFilesOptions {
  if (spec === undefined && flags.model === undefined) throw new UserError('give a spec file (with --weights) or --model with a Hugging Face model folder');
  if (flags.model === undefined && (flags.maxShardSize !== undefined || flags.overwrite)) throw new UserError('--max-shard-size and --overwrite apply to --model (a model folder out)');
  const { model, weights, adapter, out, maxShardSize, overwrite } = flags;
  return {
    ...(spec !== undefined ? { spec } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(weights !== undefined ? { weights } : {}),
    ...(maxShardSize !== undefined ? { maxShardSize } : {}),
    ...(overwrite ? { overwrite } : {}),
    config: readConfigOption(flags.config),
    set: flags.set,
    adapter,
    out,
  };
}
