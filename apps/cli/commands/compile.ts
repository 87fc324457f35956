import type { RegisterCommand } from './command.ts';
import { compile, type Stage, RECOMPUTE_MODES, type CompileOptions, type GraphMode, type RecomputeMode } from '../../../compiler/compile.ts';
import { stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { formatWgsl } from '../../../compiler/emit/index.ts';
import { graphToDot } from '../../../compiler/ir/dot.ts';
import { printGraph } from '../../../compiler/ir/print.ts';
import { formatPlanBytes } from '../../../compiler/plan/memory-plan.ts';
import { DEFAULT_LIMITS, makeTarget, TARGET_KINDS, type TargetKind } from '../../../compiler/target.ts';
import type { ParamDtypes } from '../../../compiler/passes/storage.ts';
import type { Graph } from '../../../compiler/ir/types.ts';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import { configDtype, type JsonObject } from '../../../runtime/io/hf-config.ts';
import { UserError } from '../../../compiler/errors.ts';
import { writeFileAtomic } from '../../../runtime/io/atomic.ts';
import { intArg, loadModelSpecWith, setArg, type SetValues } from '../options.ts';
import { maxPositions } from '../../../runtime/train/settings.ts';

const EMITS = ['ir', 'wgsl', 'plan', 'dot'] as const;
type Emit = (typeof EMITS)[number];
/** The compile stages that leave a graph: --emit ir|dot --after STAGE prints it as that stage left it. */
const GRAPH_STAGES = ['lower', 'split', 'autodiff', 'optimizer', 'passes'] as const satisfies readonly Stage[];
type GraphStage = (typeof GRAPH_STAGES)[number];

interface CompileFlags {
  config?: string;
  model?: string;
  set?: SetValues;
  batch?: number;
  seq?: number;
  mode: string;
  fuse: boolean;
  emit: string;
  out?: string;
  target: string;
  dtype?: string;
  maxBinding?: number;
  full?: boolean;
  recompute?: string;
  after?: string;
}

const DTYPES = ['f32', 'bf16', 'f16'] as const;

/** Every base weight stored in `dtype` (the storage pass keeps frozen matrices 16-bit). */
function paramDtypesOf(model: CheckedModel, dtype: (typeof DTYPES)[number]): ParamDtypes {
  return Object.fromEntries(model.weights.filter((w) => w.role !== 'adapter').map((w) => [w.name, dtype]));
}

/** The weights the split pass cut into row chunks, one line each (nothing when none was). */
function splitSummary(graph: Graph, limit: number): string {
  const chunks = new Map<string, number[]>();
  for (const n of graph.nodes) {
    const rows = n.op === 'param' ? (n.attrs as OpAttrs['param']).rows : undefined;
    if (rows) chunks.set(rows.of, [...(chunks.get(rows.of) ?? []), n.type.shape[0]!]);
  }
  return [...chunks].map(([name, sizes]) => `split: ${name} (${sizes.reduce((a, b) => a + b, 0)} rows) into ${sizes.length} chunks of <= ${Math.max(...sizes)} rows to fit maxStorageBufferBindingSize ${limit.toLocaleString('en-US')}\n`).join('');
}

/** What --emit prints, each from the compile stage that makes it: the IR (after `after`, default the passes), the plan, the kernels. */
function emitText(model: CheckedModel, emit: Emit, o: CompileOptions, after: GraphStage = 'passes'): string {
  switch (emit) {
    case 'ir':
      return printGraph(compile(model, { ...o, stopAfter: after }).graph);
    case 'dot':
      return graphToDot(compile(model, { ...o, stopAfter: after }).graph, { name: model.name });
    case 'plan': {
      const planned = compile(model, { ...o, stopAfter: 'plan' });
      return formatPlanBytes(planned.plan) + splitSummary(planned.graph, planned.target.limits.maxStorageBufferBindingSize);
    }
    case 'wgsl': {
      const program = compile(model, { ...o, stopAfter: 'emit' });
      return formatWgsl(program.graph, program.kernels);
    }
  }
}

/** `rankfold compile SPEC --emit ir|wgsl|plan|dot`: what the compiler makes of a spec, for one shape. */
export const registerCompile: RegisterCommand = (program) => {
  program
    .command('compile')
    .description('compile a spec and print its IR, WGSL kernels, memory plan or a Graphviz graph')
    .argument('[spec]', 'the model spec (.rf); with --model, default: the shipped spec of the config\'s model_type')
    .requiredOption('--emit <form>', `what to print: ${EMITS.join(', ')}`)
    .option('--after <stage>', `with --emit ir or dot: the graph as this compile stage leaves it: ${GRAPH_STAGES.join(', ')} (default: passes)`)
    .option('--config <config.json>', 'bind spec parameters from a Hugging Face config.json')
    .option('--model <dir>', 'a Hugging Face model folder (its config.json binds the spec)')
    .option('--set <name=value>', 'set a spec parameter (repeatable)', setArg)
    .option('--batch <b>', 'batch size (default: the spec\'s train block, else 1)', intArg)
    .option('--seq <t>', 'sequence length (default: the spec\'s train block, else min(128, positions))', intArg)
    .option('--mode <mode>', 'train (forward, backward, AdamW), eval (forward and loss) or decode (one token, KV cache)', 'train')
    .option('--no-fuse', 'skip the fusion passes')
    .option('--target <kind>', 'kernels tuned for gpu or cpu (software adapters such as lavapipe run the cpu ones)', 'gpu')
    .option('--dtype <dtype>', 'how the base weights are stored: f32, bf16 or f16 (frozen weight matrices stay 16-bit on the device; default: the --model\'s or --config\'s dtype, else f32)')
    .option('--max-binding <bytes>', 'the device\'s maxStorageBufferBindingSize (default: WebGPU\'s 134217728): weights above it are split, values above it refused', intArg)
    .option('--full', 'full fine-tuning (mode train): every base weight trains, the spec\'s adapters are dropped')
    .option('--recompute <mode>', `mode train: ${RECOMPUTE_MODES.join(' or ')} (blocks: keep each layer's input, recompute the rest in the backward; default: the spec's train block, else none)`)
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (spec: string | undefined, flags: CompileFlags) => {
      if (!(EMITS as readonly string[]).includes(flags.emit)) throw new UserError(`--emit must be one of ${EMITS.join(', ')}, got "${flags.emit}"`);
      if (flags.after !== undefined && !(GRAPH_STAGES as readonly string[]).includes(flags.after)) throw new UserError(`--after must be one of ${GRAPH_STAGES.join(', ')}, got "${flags.after}"`);
      if (flags.after !== undefined && flags.emit !== 'ir' && flags.emit !== 'dot') throw new UserError(`--after applies to --emit ir or dot (--emit ${flags.emit} runs to the ${flags.emit === 'plan' ? 'plan' : 'emit'} stage)`);
      if (!(TARGET_KINDS as readonly string[]).includes(flags.target)) throw new UserError(`--target must be gpu or cpu, got "${flags.target}"`);
      if (!['train', 'eval', 'decode'].includes(flags.mode)) throw new UserError(`--mode must be train, eval or decode, got "${flags.mode}"`);
      if (flags.recompute !== undefined && !(RECOMPUTE_MODES as readonly string[]).includes(flags.recompute)) throw new UserError(`--recompute must be one of ${RECOMPUTE_MODES.join(', ')}, got "${flags.recompute}"`);
      if (flags.mode !== 'train' && (flags.full || flags.recompute !== undefined)) throw new UserError(`--full and --recompute are for --mode train, not ${flags.mode}`);
      const { model: loaded, config } = await loadModelSpecWith(spec, flags);
      const model = flags.full ? stripAdapters(loaded) : loaded;
      // A model folder's or --config's config.json says how the weights are stored (dtype, torch_dtype).
      const configFile = flags.model !== undefined ? `${flags.model}/config.json` : flags.config;
      const fromConfig = config && configFile ? configDtype(config as JsonObject, configFile) : undefined;
      const dtype = flags.dtype ?? (fromConfig ? ({ BF16: 'bf16', F16: 'f16', F32: 'f32' } as const)[fromConfig] : 'f32');
      if (!(DTYPES as readonly string[]).includes(dtype)) throw new UserError(`--dtype must be one of ${DTYPES.join(', ')}, got "${dtype}"`);
      const batch = flags.batch ?? model.train?.batch ?? 1;
      const positions = maxPositions(model);
      const seq = flags.seq ?? model.train?.seq ?? Math.min(128, positions ?? 128);
      if (batch < 1 || seq < 1) throw new UserError('--batch and --seq must be positive');
      if (positions !== undefined && seq > positions) throw new UserError(`--seq ${seq} is longer than the ${positions} positions of ${model.file}`);
      const mode = flags.mode as GraphMode;
      if (mode === 'train' && !flags.full && model.lora.length === 0) throw new UserError(`${model.file}: nothing to train (no \`lora targets\`); use --full or --mode eval`);
      // A decoding step processes one token against a cache of `seq` positions.
      const shape = mode === 'decode' ? { batch, seq: 1, cacheLen: seq } : { batch, seq };
      const limits = flags.maxBinding !== undefined ? { maxStorageBufferBindingSize: flags.maxBinding, maxBufferSize: Math.max(flags.maxBinding, DEFAULT_LIMITS.maxBufferSize) } : {};
      const target = makeTarget(flags.target as TargetKind, { limits });
      const recompute = mode === 'train' ? ((flags.recompute as RecomputeMode | undefined) ?? model.train?.recompute ?? 'none') : 'none';
      const text = emitText(model, flags.emit as Emit, { mode, ...shape, fuse: flags.fuse, target, paramDtypes: paramDtypesOf(model, dtype as (typeof DTYPES)[number]), fullFinetune: flags.full, recompute }, flags.after as GraphStage | undefined);
      if (flags.out) writeFileAtomic(flags.out, text);
      else process.stdout.write(text.endsWith('\n') ? text : text + '\n');
    });
};
