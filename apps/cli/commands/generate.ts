import * as path from 'node:path';
import type { RegisterCommand } from './index.ts';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { UserError } from '../../../compiler/errors.ts';
import { Generator } from '../../../runtime/generate/generator.ts';
import { readAdapterDir, readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import type { Adapter } from '../../../runtime/io/peft.ts';
import { applyPeftConfig } from '../../../runtime/adapters/apply-peft.ts';
import { stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { adapterWeights, readBaseWeights } from '../../../runtime/model/weights.ts';
import { collect, floatArg, intArg, loadSpecWith, setArg, withBackend, type SetValues } from '../options.ts';
import { tokenizerFor } from '../../../runtime/data/job-data.ts';
import { maxPositions } from '../../../runtime/train/settings.ts';

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

/** The adapters' layout must agree (modules, ranks, scalings): one compiled graph serves them all. */
function sameLayout(a: CheckedModel, b: CheckedModel): boolean {
  const key = (m: CheckedModel) => JSON.stringify(m.lora.map((l) => [l.module, l.config.rank, l.config.scaling, l.config.dora]));
  return key(a) === key(b);
}

export interface GenerateResult {
  adapter?: string;
  text: string;
}

export async function generateTexts(spec: string, flags: Omit<GenerateFlags, 'backend'>, exec: { backend: 'webgpu' | 'interp'; gpu?: import('../../../runtime/device/device.ts').GpuContext }): Promise<GenerateResult[]> {
  const { model: specModel } = loadSpecWith(spec, flags);
  const dirs = flags.adapter ?? [];
  const adapters: Adapter[] = dirs.map((d) => readAdapterDir(d));
  // The first adapter fixes the graph; the others must fit it so switching is a weight upload.
  const models = adapters.map((a, i) => applyPeftConfig(specModel, a.config, path.join(dirs[i]!, 'adapter_config.json')));
  const model = models[0] ?? stripAdapters(specModel);
  models.forEach((m, i) => {
    if (!sameLayout(model, m)) throw new UserError(`${dirs[i]}: its target modules, ranks or alpha differ from ${dirs[0]}'s; adapters switched over one base must share them`);
  });
  const base = readBaseWeights(model, readSafetensorsFile(flags.weights));
  const tok = await tokenizerFor(model, flags.tokenizer);
  const prompt = tok.encode(flags.prompt);
  if (prompt.length === 0) throw new UserError('--prompt is empty');
  if (!(Number.isInteger(flags.maxNewTokens) && flags.maxNewTokens >= 1)) throw new UserError(`--max-new-tokens must be a positive integer`);
  const positions = maxPositions(model);
  const cacheLen = prompt.length + flags.maxNewTokens;
  if (positions !== undefined && cacheLen > positions) {
    throw new UserError(`prompt (${prompt.length} tokens) + --max-new-tokens ${flags.maxNewTokens} exceeds the ${positions} positions of ${model.file}`);
  }
  const gen = await Generator.create(model, [base, ...(adapters[0] ? [adapterWeights(model, adapters[0], dirs[0]!)] : [])], { ...exec, batch: 1, cacheLen });
  try {
    const results: GenerateResult[] = [];
    const opts = { maxNewTokens: flags.maxNewTokens, temperature: flags.temperature, topK: flags.topK, topP: flags.topP, seed: flags.seed, ...(tok.eos !== undefined ? { stopToken: tok.eos } : {}) };
    for (let i = 0; i < Math.max(1, adapters.length); i++) {
      // Only the adapter's factors are uploaded; the base stays on the device.
      if (i > 0) gen.setWeights(adapterWeights(model, adapters[i]!, dirs[i]!));
      const [ids] = await gen.generate([prompt], opts);
      const out = ids!.filter((t) => t !== tok.eos);
      results.push({ ...(dirs[i] !== undefined ? { adapter: dirs[i] } : {}), text: tok.decode(out) });
    }
    return results;
  } finally {
    gen.destroy();
  }
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
      const results = await withBackend(flags.backend, (backend, gpu) => generateTexts(spec, flags, { backend, ...(gpu ? { gpu } : {}) }));
      for (const r of results) {
        if (results.length > 1) console.log(`=== ${r.adapter}`);
        console.log(flags.prompt + r.text);
      }
    });
};
