// Which modules a PEFT LoRA config adapts, and with which rank and alpha. The functions mirror
// peft/tuners/tuners_utils.py (check_target_module_exists) and peft/utils/other.py
// (get_pattern_key) line by line, with Python's `re` semantics (pyregex.ts, bounded time), because
// an adapter that Rankfold trains must load into PEFT with the same modules, ranks and scaling, and
// vice versa. The spec checker's `lora targets` uses the same list and regex rules. Pure.
import { compilePyRegex } from './pyregex.ts';
import { isAllLinear, type PeftConfig, type TargetModules } from './peft-config.ts';
import { initFromPeft, withScaling, type LoraConfig, type LoraInit } from './lora-config.ts';

export interface MatchOptions {
  /** The model's output head (lm_head): "all-linear" leaves it out, as PEFT does for models with output embeddings. */
  isOutputHead?: boolean;
  /** Whether the module is a Linear / Conv1D layer (what "all-linear" selects). Default true. */
  isLinear?: boolean;
}

/** A list entry selects a module whose name equals it or ends with "." + entry (PEFT's list rule). */
export function matchesListEntry(moduleName: string, entry: string): boolean {
  return moduleName === entry || moduleName.endsWith(`.${entry}`);
}

/** re.fullmatch(pattern, moduleName): a string target_modules / exclude_modules. */
export function fullMatches(pattern: string, moduleName: string): boolean {
  return compilePyRegex(pattern).fullmatch(moduleName);
}

/**
 * Whether target_modules selects the module, before exclusions and layer filters:
 * a list matches an exact name or a suffix after a '.'; a string is a regex that must match the
 * whole name; "all-linear" (any case) selects every linear layer except the output head.
 */
export function matchesTarget(moduleName: string, targetModules: TargetModules, opts: MatchOptions = {}): boolean {
  if (targetModules === null) return false;
  if (typeof targetModules === 'string') {
    if (isAllLinear(targetModules)) return (opts.isLinear ?? true) && !opts.isOutputHead;
    return fullMatches(targetModules, moduleName);
  }
  return targetModules.some((t) => matchesListEntry(moduleName, t));
}

/** PEFT's guard: modules_to_save entries (unescaped regexes) and their submodules never get LoRA. */
export function excludedAsModuleToSave(moduleName: string, modulesToSave: readonly string[] | null): boolean {
  return (modulesToSave ?? []).some((m) => compilePyRegex(`(^|.*\\.)${m}($|\\..*)`).match(moduleName) !== null);
}

/** exclude_modules: a string is a full-match regex, a list matches exact names or '.'-suffixes. */
export function excludedByConfig(moduleName: string, exclude: PeftConfig['exclude_modules']): boolean {
  if (!exclude || exclude.length === 0) return false;
  if (typeof exclude === 'string') return fullMatches(exclude, moduleName);
  return exclude.some((e) => matchesListEntry(moduleName, e));
}

/**
 * The layer index PEFT reads from a module name for layers_to_transform: the first group of
 * `.*?\.<pattern>\.(\d+)\.` for each layers_pattern in turn, or of `.*?\.[^.]*\.(\d+)\.` without
 * one (so the index needs a component before the layer list: "h.3.attn" has none).
 */
export function layerIndex(moduleName: string, layersPattern: PeftConfig['layers_pattern']): number | undefined {
  const patterns = layersPattern === null || layersPattern.length === 0 ? [null] : typeof layersPattern === 'string' ? [layersPattern] : layersPattern;
  for (const p of patterns) {
    const m = compilePyRegex(p === null ? '.*?\\.[^.]*\\.(\\d+)\\.' : `.*?\\.${p}\\.(\\d+)\\.`).match(moduleName);
    if (!m) continue;
    const g = m[1];
    // PEFT calls int() on group 1; a pattern with its own groups makes that group something else.
    return g !== undefined && /^\d+$/.test(g) ? Number(g) : undefined;
  }
  return undefined;
}

export type TargetVerdict = 'target' | 'excluded' | 'no';

/**
 * PEFT's check_target_module_exists: exclude_modules and modules_to_save win over target_modules
 * ('excluded'); layers_to_transform filters list matches (but, as in PEFT, neither exact-name
 * matches nor regex / all-linear targets) by the layer index found with layers_pattern.
 */
export function targetVerdict(moduleName: string, config: PeftConfig, opts: MatchOptions = {}): TargetVerdict {
  if (excludedByConfig(moduleName, config.exclude_modules)) return 'excluded';
  if (excludedAsModuleToSave(moduleName, config.modules_to_save)) return 'excluded';
  const tm = config.target_modules;
  if (tm === null) return 'no';
  if (typeof tm === 'string') return matchesTarget(moduleName, tm, opts) ? 'target' : 'no';
  if (tm.includes(moduleName)) return 'target';
  if (!matchesTarget(moduleName, tm, opts)) return 'no';
  const layers = config.layers_to_transform;
  const usingLayers = layers !== null && (Array.isArray(layers) ? layers.length > 0 : true);
  if (!usingLayers) return 'target';
  const idx = layerIndex(moduleName, config.layers_pattern);
  if (idx === undefined) return 'no';
  return (Array.isArray(layers) ? layers.includes(idx) : idx === layers) ? 'target' : 'no';
}

export function isTargetModule(moduleName: string, config: PeftConfig, opts: MatchOptions = {}): boolean {
  return targetVerdict(moduleName, config, opts) === 'target';
}

/** Whether a rank_pattern / alpha_pattern key (or a spec `override`) applies: re.match(rf"(.*\.)?({key})$", name). */
export function patternKeyMatches(key: string, moduleName: string): boolean {
  return compilePyRegex(`(.*\\.)?(${key})$`).match(moduleName) !== null;
}

/** PEFT's get_pattern_key: the first key, in the file's order, that applies to the module. */
export function findPatternKey(patternKeys: Iterable<string>, moduleName: string): string | undefined {
  for (const key of patternKeys) if (patternKeyMatches(key, moduleName)) return key;
  return undefined;
}

/** The rank and alpha PEFT gives a module: rank_pattern / alpha_pattern override r / lora_alpha. */
export function resolveRankAlpha(moduleName: string, config: PeftConfig): { r: number; alpha: number } {
  const rKey = findPatternKey(Object.keys(config.rank_pattern), moduleName);
  const aKey = findPatternKey(Object.keys(config.alpha_pattern), moduleName);
  return {
    r: rKey !== undefined ? config.rank_pattern[rKey]! : config.r,
    alpha: aKey !== undefined ? config.alpha_pattern[aKey]! : config.lora_alpha,
  };
}

/**
 * The settings PEFT gives `module` under `config`: rank and alpha from the patterns, the rest from
 * the config's global fields. `init` defaults to the config's own (already validated on read).
 */
export function loraConfigFor(moduleName: string, config: PeftConfig, init?: LoraInit): LoraConfig {
  const { r, alpha } = resolveRankAlpha(moduleName, config);
  let i = init;
  if (i === undefined) {
    const parsed = initFromPeft(config.init_lora_weights, false);
    i = typeof parsed === 'string' ? parsed : 'default';
  }
  return withScaling({ rank: r, alpha, dropout: config.lora_dropout, init: i, rslora: config.use_rslora, dora: config.use_dora, loraBias: config.lora_bias });
}
