import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { generateTexts } from '../../../runtime/generate/generate-texts.ts';
import { collect, floatArg, intArg, readConfigOption, setArg, withBackend, type SetValues } from '../options.ts';

interface GenerateFlags {
  weights: string;
  adapter?: string[];
  config?: string;
  set?: SetValues;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  tokenizer?: string;
  backend: string;
}

/** `rankfold generate SPEC --weights FILE [--adapter DIR ...] --prompt TEXT`. */
export const registerGenerate: RegisterCommand = (program) => {
  program
    .command('generate')
    .description('generate text from a prompt, with a KV cache; several --adapter runs each over one loaded base')
    .argument('<spec>', 'the model spec (.rf)')
    .requiredOption('--weights <file>', 'base (or merged) weights, Hugging Face safetensors')
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--adapter <dir>', 'PEFT adapter directory (repeatable: each generates in turn)', collect)
    .option('--config <config.json>', 'bind spec parameters from a Hugging Face config.json')
    .option('--set <name=value>', 'set a spec parameter (repeatable)', setArg)
    .option('--max-new-tokens <n>', 'tokens to generate', intArg, 32)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', floatArg, 0)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', intArg, 0)
    .option('--top-p <p>', 'nucleus sampling mass (1 = off)', floatArg, 1)
    .option('--seed <s>', 'sampling seed', intArg, 0)
    .option('--tokenizer <name>', 'bytes or gpt2 (default: bytes for a 256-token vocabulary, else gpt2)')
    .option('--backend <name>', 'webgpu or interp (the CPU reference interpreter)', 'webgpu')
    .action(async (spec: string, flags: GenerateFlags) => {
      if (flags.prompt === '') throw new UserError('--prompt is empty');
      if (flags.maxNewTokens < 1) throw new UserError(`--max-new-tokens must be a positive integer, got ${flags.maxNewTokens}`);
      const { weights, adapter: adapters, prompt, maxNewTokens, temperature, topK, topP, seed, tokenizer } = flags;
      const results = await withBackend(flags.backend, (backend, gpu) =>
        generateTexts({
          spec,
          config: readConfigOption(flags.config),
          set: flags.set,
          ...{ weights, adapters, prompt, maxNewTokens, temperature, topK, topP, seed, tokenizer },
          backend,
          gpu,
        }),
      );
      for (const r of results) {
        if (results.length > 1) console.log(`=== ${r.adapter}`);
        console.log(flags.prompt + r.text);
      }
    });
};
