import { InvalidArgumentError } from 'commander';
import { UserError } from '../../../compiler/errors.ts';
import type { RegisterCommand } from './command.ts';
import { TrainingProgress } from '../../../runtime/report/progress.ts';
import { floatArg, intArg, readConfigOption, setArg, withBackend, type SetValues } from '../options.ts';
import { runTrainJob, type TrainReporter } from '../../../runtime/train/train-job.ts';
import type { RecomputeMode } from '../../../compiler/compile.ts';

interface TrainFlags {
  model?: string;
  data: string;
  out: string;
  weights?: string;
  config?: string;
  set?: SetValues;
  steps?: number;
  rank?: number;
  alpha?: number;
  lr?: number;
  batch?: number;
  seq?: number;
  tokenizer?: string;
  evalEvery?: number;
  saveEvery?: number;
  seed?: number;
  warmup?: number;
  maxGradNorm?: number;
  gradAccum?: number;
  evalFraction?: number;
  evalRows?: number;
  backend: string;
  resume?: boolean;
  full?: boolean;
  progress?: boolean;
  modulesToSave?: string[];
  recompute?: RecomputeMode;
  init?: string;
}

/** `--modules-to-save a,b` (repeatable): PEFT's modules_to_save entries. */
function namesArg(value: string, prev: string[] | undefined): string[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new InvalidArgumentError(`expected module names separated by commas, got "${value}"`);
  return [...(prev ?? []), ...names];
}

/** `--init`: true and false as booleans (PEFT's init_lora_weights), anything else a method name, checked with the config. */
function initOf(value: string | undefined): boolean | string | undefined {
  return value === undefined ? undefined : value === 'true' ? true : value === 'false' ? false : value;
}

/** Progress bar (or plain lines off a terminal) on stdout, setup lines before it. */
function consoleReporter(flags: TrainFlags): TrainReporter {
  let bar: TrainingProgress | undefined;
  return {
    info: (line) => console.log(line),
    start: (total, start) => {
      bar = new TrainingProgress({ total, start, ...(flags.progress === false ? { tty: false } : {}) });
    },
    step: (s) => bar?.update(s.step + 1, { loss: s.loss, tokens: s.tokens }),
    log: (line) => (bar ? bar.log(line) : console.log(line)),
    stop: () => {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** `rankfold train SPEC --data FILE --out DIR`: LoRA (or full) fine-tuning with checkpoints and resume. */
export const registerTrain: RegisterCommand = (program) => {
  program
    .command('train')
    .description('fine-tune LoRA adapters (or, with --full, every weight) on a text, JSONL or chat dataset')
    .argument('[spec]', 'the model spec (.rf); with --model, overrides the shipped spec of its model_type')
    .option('--model <dir>', 'a Hugging Face model folder (config.json, safetensors, tokenizer.json): spec, base weights and tokenizer from it')
    .requiredOption('--data <file>', 'training data: .jsonl ({"text"}, {"prompt","completion"} or {"messages": [...]} chat lines, the loss on assistant turns) or plain text')
    .requiredOption('--out <dir>', 'output folder: adapter, checkpoint/, loss.csv, loss.svg')
    .option('--weights <file>', 'base weights (Hugging Face safetensors; not with --model); without either the base is a fresh random init')
    .option('--config <config.json>', 'bind spec parameters from a Hugging Face config.json')
    .option('--set <name=value>', 'set a spec parameter (repeatable)', setArg)
    .option('--steps <n>', 'optimizer steps', intArg)
    .option('--rank <r>', 'LoRA rank for every target (overrides the spec)', intArg)
    .option('--alpha <a>', 'LoRA alpha for every target (overrides the spec)', floatArg)
    .option('--lr <x>', 'peak learning rate (at most 1)', floatArg)
    .option('--batch <b>', 'rows per micro-batch', intArg)
    .option('--grad-accum <k>', 'accumulate gradients over k micro-batches per optimizer step', intArg)
    .option('--seq <t>', 'tokens per row', intArg)
    .option('--tokenizer <name>', "bytes, gpt2 or a folder with tokenizer.json (default: the model folder's; else bytes for a 256-token vocabulary, gpt2 for GPT-2's)")
    .option('--eval-every <n>', 'held-out loss every n steps (0 = never)', intArg)
    .option('--eval-fraction <f>', 'share of rows held out for evaluation (default 0.1)', floatArg)
    .option('--eval-rows <n>', 'held-out rows each evaluation uses at most, evenly spaced (default 256)', intArg)
    .option('--save-every <n>', 'checkpoint every n steps (and at the end)', intArg)
    .option('--seed <s>', 'seed for init, data order, split and dropout', intArg)
    .option('--warmup <n>', 'learning-rate warm-up steps (then cosine decay)', intArg)
    .option('--max-grad-norm <x>', 'clip the global gradient norm (0 = off; default 1)', floatArg)
    .option('--backend <name>', 'webgpu or interp (the CPU reference interpreter)', 'webgpu')
    .option('--resume', 'continue from OUT/checkpoint (same flags)')
    .option('--full', 'full fine-tuning: train every base weight, write model.safetensors')
    .option('--modules-to-save <names>', "modules trained in full alongside the adapters and saved with them (PEFT's modules_to_save; comma-separated, repeatable)", namesArg)
    .option('--init <method>', "PEFT's init_lora_weights for every adapter: true, false, gaussian, pissa, pissa_niter_K, olora")
    .option('--recompute <mode>', 'blocks: keep only each layer\'s input for the backward and recompute the rest (less memory, one more forward); none (default, or the spec\'s train block)')
    .option('--no-progress', 'plain progress lines even on a terminal')
    .action(async (spec: string | undefined, flags: TrainFlags) => {
      if (spec === undefined && flags.model === undefined) throw new UserError('give a spec file or --model with a Hugging Face model folder');
      const { steps, rank, alpha, lr, batch, seq, evalEvery, saveEvery, seed, warmup, maxGradNorm, evalFraction, evalRows, gradAccum, recompute } = flags;
      const result = await withBackend(flags.backend, (backend, gpu) =>
        runTrainJob({
          ...(spec !== undefined ? { spec } : {}),
          ...(flags.model !== undefined ? { model: flags.model } : {}),
          config: readConfigOption(flags.config),
          set: flags.set,
          data: flags.data,
          out: flags.out,
          weights: flags.weights,
          tokenizer: flags.tokenizer,
          backend,
          gpu,
          resume: flags.resume,
          full: flags.full,
          ...(flags.modulesToSave ? { modulesToSave: flags.modulesToSave } : {}),
          ...(flags.init !== undefined ? { init: initOf(flags.init) } : {}),
          reporter: consoleReporter(flags),
          ...{ steps, rank, alpha, lr, batch, seq, evalEvery, saveEvery, seed, warmup, maxGradNorm, evalFraction, evalRows, gradAccum, recompute },
        }),
      );
      const last = result.history[result.history.length - 1];
      const firstLoss = result.history[0]?.loss;
      const evals = result.history.filter((h) => h.eval_loss !== undefined);
      const lastEval = evals[evals.length - 1];
      console.log(
        `done: step ${last?.step ?? result.startStep}, loss ${firstLoss?.toFixed(4) ?? '-'} -> ${last?.loss.toFixed(4) ?? '-'}` +
          (lastEval ? `, held-out ${lastEval.eval_loss!.toFixed(4)}` : ''),
      );
      console.log(`wrote ${result.files.map((f) => `${result.outDir}/${f}`).join(', ')}`);
    });
};
