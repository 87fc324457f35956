import * as path from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { combineAdapters, type CombineMethod } from '../../../runtime/adapters/combine.ts';
import { readAdapterDir, writeAdapterDir } from '../../../runtime/io/node-fs.ts';
import { intArg } from '../options.ts';

interface CombineFlags {
  weights?: number[];
  method: string;
  rank?: number;
  out: string;
}

/** `--weights 0.5,0.5`: one finite number per adapter. */
function weightsArg(value: string): number[] {
  const ws = value.split(',').map((s) => Number(s.trim()));
  if (value.trim() === '' || ws.some((w) => !Number.isFinite(w))) throw new InvalidArgumentError(`expected numbers separated by commas, got "${value}"`);
  return ws;
}

const METHODS: CombineMethod[] = ['linear', 'cat', 'svd'];

/** Combines adapter directories into a new one (library: runtime/adapters/combine.ts). */
export function combineDirs(dirs: string[], flags: CombineFlags): { modules: number; rank: number } {
  if (!METHODS.includes(flags.method as CombineMethod)) throw new UserError(`--method must be one of ${METHODS.join(', ')}, not "${flags.method}"`);
  const weights = flags.weights ?? dirs.map(() => 1);
  if (weights.length !== dirs.length) throw new UserError(`--weights has ${weights.length} values for ${dirs.length} adapters`);
  if (flags.rank !== undefined && flags.method !== 'svd') throw new UserError('--rank applies to --method svd only (cat adds the ranks, linear keeps the common rank)');
  for (const d of dirs) if (path.resolve(d) === path.resolve(flags.out)) throw new UserError(`--out ${flags.out} is one of the inputs`);
  const inputs = dirs.map((d, i) => ({ adapter: readAdapterDir(d), source: d, weight: weights[i]! }));
  const combined = combineAdapters(inputs, { method: flags.method as CombineMethod, ...(flags.rank !== undefined ? { rank: flags.rank } : {}) });
  writeAdapterDir(flags.out, combined);
  return { modules: combined.tensors.size, rank: combined.config.r };
}

/** `rankfold combine A B ... --weights w1,w2 --method linear|cat|svd [--rank r] --out DIR`. */
export const registerCombine: RegisterCommand = (program) => {
  program
    .command('combine')
    .description("combine PEFT LoRA adapters into one, as PEFT's add_weighted_adapter (cat: exact weighted sum; svd: best rank-r; linear)")
    .argument('<adapters...>', 'adapter directories')
    .option('--weights <w1,w2,...>', 'one weight per adapter (default 1 each)', weightsArg)
    .option('--method <m>', 'linear, cat or svd', 'cat')
    .option('--rank <r>', 'rank of the svd result (default: the largest input rank)', intArg)
    .requiredOption('--out <dir>', 'adapter directory to write')
    .action((dirs: string[], flags: CombineFlags) => {
      const r = combineDirs(dirs, flags);
      console.log(`combined ${dirs.length} adapters (${flags.method}) into ${r.modules} modules of rank ${r.rank}; wrote ${flags.out}`);
    });
};
