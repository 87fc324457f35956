import * as fs from 'node:fs';
import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { checkMessages, type ChatMessage } from '../../../runtime/data/chat-template.ts';
import { generateTexts } from '../../../runtime/generate/generate-texts.ts';
import { collect, floatArg, intArg, readConfigOption, setArg, withBackend, type SetValues } from '../options.ts';

interface GenerateFlags {
  model?: string;
  weights?: string;
  adapter?: string[];
  config?: string;
  set?: SetValues;
  prompt?: string;
  chat?: boolean;
  system?: string;
  messages?: string;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  tokenizer?: string;
  backend: string;
}

/** `--messages`: a JSON list of {"role", "content"}, given inline or as the path of a .json file. */
function readMessages(value: string): ChatMessage[] {
  const inline = value.trimStart().startsWith('[');
  let text = value;
  if (!inline) {
    if (!fs.existsSync(value)) throw new UserError(`--messages: ${value} is neither a JSON list nor a file`);
    text = fs.readFileSync(value, 'utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UserError(`--messages${inline ? '' : ` ${value}`}: not valid JSON (${(err as Error).message})`);
  }
  return checkMessages(parsed, inline ? '--messages' : value);
}

/** The conversation to render, if any: --messages, or --chat's one user turn (after --system). */
function chatOf(flags: GenerateFlags): ChatMessage[] | undefined {
  if (flags.messages !== undefined) {
    if (flags.prompt !== undefined || flags.chat || flags.system !== undefined) throw new UserError('--messages holds the whole conversation: leave out --prompt, --chat and --system');
    return readMessages(flags.messages);
  }
  if (!flags.chat) {
    if (flags.system !== undefined) throw new UserError('--system needs --chat');
    return undefined;
  }
  if (flags.prompt === undefined) throw new UserError('--chat needs --prompt (the user message)');
  return [...(flags.system !== undefined ? [{ role: 'system', content: flags.system }] : []), { role: 'user', content: flags.prompt }];
}

/** `rankfold generate (--model DIR | SPEC --weights FILE) [--adapter DIR ...] (--prompt TEXT [--chat] | --messages JSON)`. */
export const registerGenerate: RegisterCommand = (program) => {
  program
    .command('generate')
    .description('generate text from a prompt or a chat, streamed as it comes, with a KV cache; several --adapter runs each over one loaded base')
    .argument('[spec]', 'the model spec (.rf); with --model, overrides the shipped spec of its model_type')
    .option('--model <dir>', 'a Hugging Face model folder (config.json, safetensors, tokenizer.json): spec, weights and tokenizer from it')
    .option('--weights <file>', 'base (or merged) weights, Hugging Face safetensors (with a spec, without --model)')
    .option('--prompt <text>', 'the prompt (with --chat: the user message)')
    .option('--chat', "render --prompt as a user message with the model's chat template and its generation prompt")
    .option('--system <text>', 'with --chat: a system message before it')
    .option('--messages <json>', 'a whole conversation, a JSON list of {"role", "content"} (inline or a .json file), rendered with the chat template')
    .option('--adapter <dir>', 'PEFT adapter directory (repeatable: each generates in turn)', collect)
    .option('--config <config.json>', 'bind spec parameters from a Hugging Face config.json')
    .option('--set <name=value>', 'set a spec parameter (repeatable)', setArg)
    .option('--max-new-tokens <n>', 'tokens to generate', intArg, 32)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', floatArg, 0)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', intArg, 0)
    .option('--top-p <p>', 'nucleus sampling mass (1 = off)', floatArg, 1)
    .option('--seed <s>', 'sampling seed', intArg, 0)
    .option('--tokenizer <name>', "bytes, gpt2 or a folder with tokenizer.json (default: the model folder's; else bytes for a 256-token vocabulary, gpt2 for GPT-2's)")
    .option('--backend <name>', 'webgpu or interp (the CPU reference interpreter)', 'webgpu')
    .action(async (spec: string | undefined, flags: GenerateFlags) => {
      if (spec === undefined && flags.model === undefined) throw new UserError('give a spec file (with --weights) or --model with a Hugging Face model folder');
      if (flags.maxNewTokens < 1) throw new UserError(`--max-new-tokens must be a positive integer, got ${flags.maxNewTokens}`);
      const messages = chatOf(flags);
      if (!messages && (flags.prompt === undefined || flags.prompt === '')) throw new UserError(flags.prompt === '' ? '--prompt is empty' : 'give --prompt (or --messages)');
      const { model, weights, adapter: adapters, maxNewTokens, temperature, topK, topP, seed, tokenizer } = flags;
      const several = (adapters?.length ?? 0) > 1;
      // Each completion is written as it comes: the prompt (not for a chat), then each piece of text.
      let current = -1;
      const advanceTo = (index: number) => {
        while (current < index) {
          if (current >= 0) process.stdout.write('\n');
          current++;
          if (several) process.stdout.write(`=== ${adapters![current]}\n`);
          if (!messages) process.stdout.write(flags.prompt!);
        }
      };
      const onText = (text: string, index: number) => {
        advanceTo(index);
        process.stdout.write(text);
      };
      const results = await withBackend(flags.backend, (backend, gpu) =>
        generateTexts({
          ...(spec !== undefined ? { spec } : {}),
          ...(model !== undefined ? { model } : {}),
          ...(weights !== undefined ? { weights } : {}),
          config: readConfigOption(flags.config),
          set: flags.set,
          ...(messages ? { messages } : { prompt: flags.prompt! }),
          ...{ adapters, maxNewTokens, temperature, topK, topP, seed, tokenizer },
          backend,
          gpu,
          onText,
        }),
      );
      // Completions that produced no text (an immediate stop) still get their header and prompt.
      advanceTo(results.length - 1);
      process.stdout.write('\n');
    });
};
