import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { openGpu } from '../options.ts';
import { runDemo } from '../../demo/demo.ts';

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n <= 0) throw new UserError(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

/** A seed is a 32-bit unsigned integer, as everywhere in Rankfold (`abc` is refused, not read as 0). */
function seedArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new UserError(`--seed must be an integer from 0 to 4294967295, got "${v}"`);
  return n;
}

/** `rankfold demo`: the README's main job. */
export const registerDemo: RegisterCommand = (program) => {
  program
    .command('demo')
    .description('pretrain a tiny char GPT, train a LoRA adapter for a new task, compare, merge')
    .option('--out <dir>', 'output folder', 'out/demo')
    .option('--pretrain-steps <n>', 'base-model training steps', '300')
    .option('--lora-steps <n>', 'adapter training steps', '200')
    .option('--seed <n>', 'random seed', '0')
    .option('--backend <name>', 'webgpu or interp', 'webgpu')
    .action(async (opts: { out: string; pretrainSteps: string; loraSteps: string; seed: string; backend: string }) => {
      if (opts.backend !== 'webgpu' && opts.backend !== 'interp') throw new UserError(`unknown backend "${opts.backend}"`);
      // Every flag is checked before the GPU is opened.
      const seed = seedArg(opts.seed);
      const pretrainSteps = positiveInt('pretrain-steps', opts.pretrainSteps);
      const loraSteps = positiveInt('lora-steps', opts.loraSteps);
      const gpu = opts.backend === 'webgpu' ? await openGpu() : undefined;
      if (gpu) console.log(`WebGPU adapter: ${gpu.adapterName}`);
      try {
        await runDemo({ out: opts.out, backend: opts.backend, ...(gpu ? { gpu } : {}), seed, pretrainSteps, loraSteps, log: (line) => console.log(line) });
      } finally {
        gpu?.device.destroy();
      }
    });
};
