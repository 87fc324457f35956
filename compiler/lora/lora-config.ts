// The LoRA settings of one adapted module, as the checker resolves them from a spec and the
// runtime from an adapter_config.json, with PEFT's defaults (r=8, lora_alpha=8, dropout 0,
// Kaiming A and zero B, no rsLoRA, no DoRA, no lora_bias). Pure: no Node APIs.

/**
 * PEFT's init_lora_weights values that Rankfold implements: 'default' (true: Kaiming-uniform A,
 * zero B), 'random' (false: both random), 'gaussian' (A ~ N(0, 1/r)), 'pissa' and 'pissa_niter_K'
 * (A and B from the top-r SVD of W, base replaced by the residual), 'olora' (A and B from the QR
 * of W, base replaced by the residual).
 */
export type LoraInit = 'default' | 'random' | 'gaussian' | 'pissa' | `pissa_niter_${number}` | 'olora';

/** PEFT's `bias`: which base biases train alongside the adapters (and are saved with them). */
export type BiasMode = 'none' | 'all' | 'lora_only';

export interface LoraConfig {
  rank: number;
  alpha: number;
  dropout: number;
  init: LoraInit;
  rslora: boolean;
  dora: boolean;
  /** PEFT's lora_bias: lora_B has a bias, added as scaling·bias. */
  loraBias: boolean;
  /** alpha / rank, or alpha / sqrt(rank) with rslora. */
  scaling: number;
}

export const LORA_DEFAULTS: LoraConfig = { rank: 8, alpha: 8, dropout: 0, init: 'default', rslora: false, dora: false, loraBias: false, scaling: 1 };

/** The largest rank Rankfold accepts (in a spec and in an adapter config). */
export const MAX_RANK = 65536;

/** The factor on B·A: alpha / r, or alpha / sqrt(r) with rsLoRA (PEFT's LoraLayer.update_layer). */
export function loraScaling(alpha: number, r: number, rslora = false): number {
  return rslora ? alpha / Math.sqrt(r) : alpha / r;
}

/** Recomputes `scaling` after rank, alpha or rslora changed. */
export function withScaling(c: Omit<LoraConfig, 'scaling'>): LoraConfig {
  return { ...c, scaling: loraScaling(c.alpha, c.rank, c.rslora) };
}

const PISSA_NITER = /^pissa_niter_(\d+)$/;

/** The init_lora_weights values PEFT knows but Rankfold does not implement, and why. */
const UNSUPPORTED_INITS: Record<string, string> = {
  loftq: 'LoftQ re-quantizes the base weight with bitsandbytes',
  corda: 'CorDA needs the covariance of activations from a calibration run',
  eva: 'EVA needs the SVD of activations from a calibration run',
  lora_ga: 'LoRA-GA needs gradients from a calibration run',
  orthogonal: 'orthogonal init is not implemented',
  mica: 'MiCA freezes lora_B (a variant, not only an init)',
};

/**
 * A PEFT init_lora_weights value as a LoraInit. `forTraining` false (loading an adapter that is
 * already trained) accepts the inits that only set A and B at creation and leave the base alone
 * (eva, orthogonal, lora_ga, as PEFT's loader then overwrites A and B): their math is plain LoRA.
 * Returns an error message for values Rankfold cannot honour.
 */
export function initFromPeft(value: unknown, forTraining: boolean): LoraInit | { error: string } {
  if (value === true) return 'default';
  if (value === false) return 'random';
  if (typeof value !== 'string') return { error: `must be true, false or a method name, not ${JSON.stringify(value)}` };
  const v = value.toLowerCase();
  if (v === 'gaussian') return 'gaussian';
  if (v === 'olora') return 'olora';
  if (value === 'pissa') return 'pissa';
  if (PISSA_NITER.test(value)) return value as LoraInit;
  if (value.startsWith('pissa')) return { error: `init_lora_weights should be 'pissa' or 'pissa_niter_[number of iters]', got ${JSON.stringify(value)} instead (PEFT's message)` };
  const why = UNSUPPORTED_INITS[value] ?? UNSUPPORTED_INITS[v];
  if (why !== undefined) {
    if (!forTraining && ['eva', 'orthogonal', 'lora_ga'].includes(value)) return 'default';
    return { error: `"${value}" is not supported: ${why}` };
  }
  return { error: `unknown initialization ${JSON.stringify(value)} (PEFT: "Unknown initialization init_lora_weights=...")` };
}

/** The init_lora_weights value PEFT writes for a LoraInit. */
export function initToPeft(init: LoraInit): boolean | string {
  return init === 'default' ? true : init === 'random' ? false : init;
}

/** Whether the init replaces the base weight with a residual (PiSSA, OLoRA). */
export function mutatesBase(init: LoraInit): boolean {
  return init === 'olora' || init.startsWith('pissa');
}
