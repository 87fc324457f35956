import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { mergeAdapterIntoBase } from '../../../runtime/adapters/merge-files.ts';
import { readConfigOption, setArg, type SetValues } from '../options.ts';

interface MergeFlags {
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
      if (spec === undefined && flags.model === undefined) throw new UserError('give a spec file (with --weights) or --model with a Hugging Face model folder');
      if (flags.model === undefined && (flags.maxShardSize !== undefined || flags.overwrite)) throw new UserError('--max-shard-size and --overwrite apply to --model (a model folder out)');
      const { model, weights, adapter, out, maxShardSize, overwrite } = flags;
      const r = await mergeAdapterIntoBase({
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
      const files = r.shards ? ` (${r.shards.length} weight file${r.shards.length > 1 ? 's' : ''})` : '';
      console.log(`merged ${adapter} into ${r.mergedLayers} layers of ${model ?? weights}; wrote ${out}${files}`);
    });
};
