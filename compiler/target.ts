// What `compile` compiles for: the kind of device the kernels are tuned for, the device limits and
// features the compiler and the GPU program respect, and the GEMM kernel choice. The compiler never
// asks a device (it runs without one, in Node or a browser): runtime/device builds a Target from the
// adapter it opened (targetFor), `rankfold compile --target gpu|cpu` builds one from WebGPU's
// default limits, and a benchmark can force a GEMM form through `gemm`.

/**
 * 'gpu': a hardware GPU. 'cpu': a software Vulkan/D3D driver (lavapipe/llvmpipe, SwiftShader, WARP)
 * that runs each workgroup as a task on CPU threads: workgroup memory and barriers only cost there,
 * so kernels with both a tiled and a register form pick the register form. Shader keys name the
 * form, so kernels of both kinds can share one pipeline cache.
 */
export type TargetKind = 'gpu' | 'cpu';

export const TARGET_KINDS: readonly TargetKind[] = ['gpu', 'cpu'];

/** The WebGPU limits the compiled program depends on (names as in GPUSupportedLimits). */
export interface TargetLimits {
  /** Largest storage buffer one binding may see: bounds every planned buffer. */
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  /** Workgroup memory per kernel (the tiled GEMM stages 8 KiB). */
  maxComputeWorkgroupStorageSize: number;
  /** Invocations per workgroup (kernels use at most 256). */
  maxComputeInvocationsPerWorkgroup: number;
  /** Linear workgroup counts past this fold into a 2-D grid. */
  maxComputeWorkgroupsPerDimension: number;
  /** Alignment of each launch's slice of the shared uniform buffer. */
  minUniformBufferOffsetAlignment: number;
  /** Storage bindings per kernel (the largest kernels bind 7). */
  maxStorageBuffersPerShaderStage: number;
}

/** WebGPU's default limits: what every adapter supports, and what a Target has unless told otherwise. */
export const DEFAULT_LIMITS: Readonly<TargetLimits> = Object.freeze({
  maxStorageBufferBindingSize: 134_217_728,
  maxBufferSize: 268_435_456,
  maxComputeWorkgroupStorageSize: 16_384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupsPerDimension: 65_535,
  minUniformBufferOffsetAlignment: 256,
  maxStorageBuffersPerShaderStage: 8,
});

export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof TargetLimits)[];

/**
 * Buffer limits that bound nothing: for executors that bind no buffers (the interpreter) and for
 * plans of models no device holds (memory at scale). Nothing is split or refused for size.
 */
export const NO_SIZE_LIMITS: Readonly<Partial<TargetLimits>> = Object.freeze({
  maxStorageBufferBindingSize: Number.MAX_SAFE_INTEGER,
  maxBufferSize: Number.MAX_SAFE_INTEGER,
});

/** Optional device features. Kernels are f32 today; the flags are here so that f16 ones can be chosen. */
export interface TargetFeatures {
  shaderF16: boolean;
  subgroups: boolean;
}

export const NO_FEATURES: Readonly<TargetFeatures> = Object.freeze({ shaderF16: false, subgroups: false });

/** The register-blocked GEMM's fixed configurations (compiler/emit/gemm-reg.ts). */
export const REG_CONFIG_NAMES = ['r4c1', 'r4c2', 'r2c2', 'r8c1'] as const;
export type RegConfigName = (typeof REG_CONFIG_NAMES)[number];

/**
 * Which GEMM kernels matmul and lowrank_matmul get. 'auto': the tiled GEMM on 'gpu', the register
 * GEMM on 'cpu' with a layout chosen per shape (thin LoRA products get a thin layout). 'tiled' and
 * 'register' force a form on any kind; a RegConfigName forces the register GEMM with that one
 * configuration for every shape (for benchmarks).
 */
export type GemmChoice = 'auto' | 'tiled' | 'register' | RegConfigName;

export const GEMM_CHOICES: readonly GemmChoice[] = ['auto', 'tiled', 'register', ...REG_CONFIG_NAMES];

export interface Target {
  readonly kind: TargetKind;
  readonly limits: Readonly<TargetLimits>;
  readonly features: Readonly<TargetFeatures>;
  readonly gemm: GemmChoice;
}

export interface TargetOptions {
  limits?: Partial<TargetLimits>;
  features?: Partial<TargetFeatures>;
  gemm?: GemmChoice;
}

function invalid(what: string, value: unknown, allowed: readonly string[]): Error {
  return new Error(`target: ${what} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

/** A Target of `kind` with WebGPU's default limits, no optional features and the 'auto' GEMM, unless given. */
export function makeTarget(kind: TargetKind, options: TargetOptions = {}): Target {
  if (!TARGET_KINDS.includes(kind)) throw invalid('kind', kind, TARGET_KINDS);
  const gemm = options.gemm ?? 'auto';
  if (!GEMM_CHOICES.includes(gemm)) throw invalid('gemm', gemm, GEMM_CHOICES);
  const limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(options.limits ?? {})) {
    if (!(LIMIT_NAMES as string[]).includes(name)) throw invalid('a limit name', name, LIMIT_NAMES);
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`target: limit ${name} must be a positive integer, got ${value}`);
    limits[name as keyof TargetLimits] = value;
  }
  return Object.freeze({ kind, limits: Object.freeze(limits), features: Object.freeze({ ...NO_FEATURES, ...options.features }), gemm });
}

/** `makeTarget('gpu')`: what `compile` and `rankfold compile` use when no target is given. */
export const DEFAULT_TARGET: Target = makeTarget('gpu');

/** The GEMM form a target gets: 'tiled', or the register GEMM with a forced config or none (per shape). */
export function gemmForm(target: Target): { form: 'tiled' } | { form: 'register'; config?: RegConfigName } {
  const g = target.gemm === 'auto' ? (target.kind === 'gpu' ? 'tiled' : 'register') : target.gemm;
  if (g === 'tiled') return { form: 'tiled' };
  return g === 'register' ? { form: 'register' } : { form: 'register', config: g };
}
