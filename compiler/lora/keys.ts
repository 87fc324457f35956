// PEFT's tensor names, in one place. Rankfold's parameter names for an adapter are PEFT's file keys
// without the "base_model.model." prefix, so the graph, the checkpoint and the adapter file agree:
//   <module>.lora_A.weight   [r, in]      <module>.lora_embedding_A   [r, num]   (nn.Embedding)
//   <module>.lora_B.weight   [out, r]     <module>.lora_embedding_B   [dim, r]
//   <module>.lora_B.bias     [out]        (lora_bias)
//   <module>.lora_magnitude_vector [out]  (DoRA; [dim] on an embedding)
// PEFT's in-memory names carry the adapter name (lora_A.default.weight, lora_embedding_A.default,
// lora_magnitude_vector.default.weight); get_peft_model_state_dict strips it when saving, and drops
// the magnitude's ".weight". Rankfold reads every one of these forms and writes the file form; a
// graph holding several adapters (runtime/adapters/adapter-set.ts) names them
// <module>.lora_A.<adapter>.weight as PEFT does in memory.
// Base-model tensors saved in an adapter (trained biases, modules_to_save copies, full embeddings)
// keep their model path; a bias of a LoRA-wrapped module is `<module>.base_layer.bias`.
// Pure: no Node APIs.

/** PEFT prefixes every key with the PeftModel's path to the base model. */
export const PEFT_KEY_PREFIX = 'base_model.model.';

export type LoraPart = 'A' | 'B' | 'biasB' | 'magnitude' | 'embA' | 'embB';

const LAYER: Record<LoraPart, string> = {
  A: 'lora_A',
  B: 'lora_B',
  biasB: 'lora_B',
  magnitude: 'lora_magnitude_vector',
  embA: 'lora_embedding_A',
  embB: 'lora_embedding_B',
};
/** The parameter suffix after the layer name: nn.Linear children have one, ParameterDict entries and the DoRA magnitude (as saved) do not. */
const LEAF: Record<LoraPart, string | undefined> = { A: 'weight', B: 'weight', biasB: 'bias', magnitude: undefined, embA: undefined, embB: undefined };

/** The name of one adapter parameter; `adapterName` selects PEFT's in-memory form for a named adapter. */
export function loraParamName(module: string, part: LoraPart, adapterName?: string): string {
  const leaf = LEAF[part];
  const parts = [module, LAYER[part], ...(adapterName !== undefined ? [adapterName] : []), ...(leaf !== undefined ? [leaf] : [])];
  return parts.join('.');
}

export interface LoraParamNames {
  a: string;
  b: string;
  biasB: string;
  magnitude: string;
}

/** The parameters of one adapted module: lora_A/lora_B for linear layers, lora_embedding_A/B for embeddings. */
export function loraParamNames(module: string, kind: 'linear' | 'embedding' = 'linear', adapterName?: string): LoraParamNames {
  const emb = kind === 'embedding';
  return {
    a: loraParamName(module, emb ? 'embA' : 'A', adapterName),
    b: loraParamName(module, emb ? 'embB' : 'B', adapterName),
    biasB: loraParamName(module, 'biasB', adapterName),
    magnitude: loraParamName(module, 'magnitude', adapterName),
  };
}

/** The key PEFT saves for a module's part (adapter name stripped). */
export function loraKey(module: string, part: LoraPart): string {
  return PEFT_KEY_PREFIX + loraParamName(module, part);
}

const KEY = /^(.+)\.(lora_A|lora_B|lora_magnitude_vector|lora_embedding_A|lora_embedding_B)(?:\.([^.]+))?(?:\.(weight|bias))?$/;

/**
 * Splits a LoRA key (with or without the prefix, with or without the adapter name) into module and
 * part; undefined for any other key. The DoRA magnitude loads with and without ".weight", as PEFT's
 * loader appends it when missing.
 */
export function parseLoraKey(key: string): { module: string; part: LoraPart; adapterName?: string } | undefined {
  const body = key.startsWith(PEFT_KEY_PREFIX) ? key.slice(PEFT_KEY_PREFIX.length) : key;
  const m = KEY.exec(body);
  if (!m) return undefined;
  let [, module, layer, adapterName, leaf] = m as unknown as [string, string, string, string | undefined, string | undefined];
  // "lora_A.weight": the optional adapter-name group took the leaf.
  if (leaf === undefined && (adapterName === 'weight' || adapterName === 'bias')) [leaf, adapterName] = [adapterName, undefined];
  let part: LoraPart | undefined;
  if (layer === 'lora_A' && leaf === 'weight') part = 'A';
  else if (layer === 'lora_B' && leaf === 'weight') part = 'B';
  else if (layer === 'lora_B' && leaf === 'bias') part = 'biasB';
  else if (layer === 'lora_magnitude_vector' && leaf !== 'bias') part = 'magnitude';
  else if (layer === 'lora_embedding_A' && leaf === undefined) part = 'embA';
  else if (layer === 'lora_embedding_B' && leaf === undefined) part = 'embB';
  if (part === undefined) return undefined;
  return adapterName === undefined ? { module, part } : { module, part, adapterName };
}

/** A gate of a named adapter in a many-adapter graph: 1 where the adapter is enabled, 0 where not (Rankfold's, never saved). */
export function loraGateName(module: string, adapterName: string): string {
  return `${module}.lora_gate.${adapterName}`;
}

/**
 * The key under which PEFT saves a trained base weight (`bias: "all" | "lora_only"`, a
 * modules_to_save copy): its model path, with `base_layer` inserted when the module is wrapped by
 * a LoRA layer (PEFT main's _get_learnable_bias_state_dict; 0.20.0 never saved lora_only biases).
 */
export function baseWeightKey(weightName: string, wrappedModule?: string): string {
  if (wrappedModule !== undefined && weightName.startsWith(wrappedModule + '.')) {
    return `${PEFT_KEY_PREFIX}${wrappedModule}.base_layer.${weightName.slice(wrappedModule.length + 1)}`;
  }
  return PEFT_KEY_PREFIX + weightName;
}

export type BaseKey =
  /** A base model weight: `name` is its path in the model; `baseLayer` when saved as `<module>.base_layer.<leaf>`. */
  | { kind: 'weight'; name: string; baseLayer: boolean }
  /**
   * PEFT side copies that its loader never uses: `original_module` (the frozen original of a
   * modules_to_save wrapper) and `modules_to_save.<leaf>` (the adapter-name-stripped copy that
   * bias="all" also saves).
   */
  | { kind: 'ignored'; why: string };

/** Reads a key that parseLoraKey rejected: which base weight it replaces, if any. */
export function parseBaseKey(key: string): BaseKey | undefined {
  if (!key.startsWith(PEFT_KEY_PREFIX)) return undefined;
  const body = key.slice(PEFT_KEY_PREFIX.length);
  if (/(^|\.)original_module\./.test(body)) return { kind: 'ignored', why: 'the frozen original of a modules_to_save wrapper' };
  if (/(^|\.)modules_to_save\./.test(body)) return { kind: 'ignored', why: 'a duplicate of a modules_to_save copy (bias="all")' };
  const i = body.lastIndexOf('.base_layer.');
  if (i >= 0) return { kind: 'weight', name: body.slice(0, i) + body.slice(i + '.base_layer'.length), baseLayer: true };
  return { kind: 'weight', name: body, baseLayer: false };
}

export interface AdapterTensor {
  name: string;
  part: LoraPart;
  shape: number[];
}

/**
 * Every tensor of one adapted module, with PEFT's shapes: lora_A [r, in] and lora_B [out, r]
 * (an embedding's lora_embedding_A [r, num] and _B [dim, r], with in = num and out = dim),
 * lora_B.bias [out] with lora_bias, the DoRA magnitude [out].
 */
export function adapterTensors(
  module: string,
  kind: 'linear' | 'embedding',
  inFeatures: number,
  outFeatures: number,
  c: { rank: number; dora: boolean; loraBias: boolean },
  adapterName?: string,
): AdapterTensor[] {
  const emb = kind === 'embedding';
  const out: AdapterTensor[] = [
    { part: emb ? 'embA' : 'A', shape: [c.rank, inFeatures], name: '' },
    { part: emb ? 'embB' : 'B', shape: [outFeatures, c.rank], name: '' },
  ];
  if (c.loraBias) out.push({ part: 'biasB', shape: [outFeatures], name: '' });
  if (c.dora) out.push({ part: 'magnitude', shape: [outFeatures], name: '' });
  for (const t of out) t.name = loraParamName(module, t.part, adapterName);
  return out;
}

/**
 * Rankfold's parameter name for any PEFT key: a LoRA tensor in the file or the in-memory form
 * (`lora_A.default.weight`), a trained base tensor (`<module>.base_layer.bias`), or a
 * modules_to_save copy in memory (`<module>.modules_to_save.default.weight`). Undefined for keys
 * PEFT's loader never uses (`original_module`) and keys without the prefix.
 */
export function paramNameForKey(key: string): string | undefined {
  const lora = parseLoraKey(key);
  if (lora) return loraParamName(lora.module, lora.part);
  if (!key.startsWith(PEFT_KEY_PREFIX)) return undefined;
  const body = key.slice(PEFT_KEY_PREFIX.length).replace(/\.modules_to_save\.[^.]+\.(?=[^.]+$)/, '.');
  const k = parseBaseKey(PEFT_KEY_PREFIX + body);
  return k?.kind === 'weight' ? k.name : undefined;
}
