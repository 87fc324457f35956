// Which modules a PEFT LoRA config adapts, and with which rank and alpha. The functions mirror
// peft/tuners/tuners_utils.py (check_target_module_exists) and peft/utils/other.py
// (get_pattern_key) line by line, with Python's `re` semantics (pyregex.ts, bounded time), because
// an adapter that Rankfold trains must load into PEFT with the same modules, ranks and scaling, and
// vice versa. The spec checker's `lora targets` uses the same list and regex rules. Pure.
import { UserError } from '../errors.ts';
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

/** A module of the base model as PEFT sees it in named_modules(). */
export interface ModuleInfo {
  name: string;
  /** 'linear' (Linear and Conv1D), 'embedding', 'other' (norms, ...), 'container' (a parent of other modules). */
  kind: 'linear' | 'embedding' | 'other' | 'container';
  /** What it is, for messages (e.g. "rmsnorm"). */
  type: string;
  /** The output head, which "all-linear" leaves out. */
  isOutputHead?: boolean;
}

export interface ModuleSelection {
  /** The modules that get LoRA, in model order, with their kind. */
  targets: Map<string, 'linear' | 'embedding'>;
  /** Leaf modules trained in full and saved with the adapter (modules_to_save and their submodules). */
  modulesToSave: string[];
  /** PEFT's warnings (e.g. exclude_modules that excluded nothing). */
  warnings: string[];
}

/** Every proper dotted prefix of the leaf names: the containers PEFT's named_modules() also lists. */
export function withContainers(leaves: ModuleInfo[]): ModuleInfo[] {
  const names = new Set(leaves.map((m) => m.name));
  const out: ModuleInfo[] = [];
  const seen = new Set<string>();
  for (const m of leaves) {
    const parts = m.name.split('.');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('.');
      if (names.has(prefix) || seen.has(prefix)) continue;
      seen.add(prefix);
      out.push({ name: prefix, kind: 'container', type: 'container' });
    }
    out.push(m);
  }
  return out;
}

/** The modules PEFT's effective modules_to_save (config plus task additions) wraps: a plain suffix match, no dot boundary. */
export function modulesToSaveLeaves(modules: ModuleInfo[], entries: readonly string[]): string[] {
  if (entries.length === 0) return [];
  const roots = modules.filter((m) => entries.some((e) => m.name.endsWith(e))).map((m) => m.name);
  return modules.filter((m) => m.kind !== 'container' && roots.some((r) => m.name === r || m.name.startsWith(r + '.'))).map((m) => m.name);
}

/**
 * PEFT's inject_adapter over a model's modules (leaves; containers are derived): which modules
 * get LoRA, with PEFT's refusals and messages (a target that is not Linear / Conv1D / Embedding,
 * nothing targeted, everything excluded), and which are trained in full.
 */
export function selectModules(leaves: ModuleInfo[], config: PeftConfig, modulesToSave: readonly string[], source: string): ModuleSelection {
  const modules = withContainers(leaves);
  const targets = new Map<string, 'linear' | 'embedding'>();
  const cfg = { ...config, modules_to_save: [...modulesToSave] };
  let excluded = 0;
  let unmatched = 0;
  for (const m of modules) {
    const verdict = targetVerdict(m.name, cfg, { isOutputHead: m.isOutputHead === true, isLinear: m.kind === 'linear' });
    if (verdict === 'excluded') excluded++;
    else if (verdict === 'no') unmatched++;
    else if (m.kind === 'linear' || m.kind === 'embedding') targets.set(m.name, m.kind);
    else {
      const what = m.kind === 'container' ? 'a container of other modules' : `a ${m.type} layer`;
      throw new UserError(`${source}: target_modules ${JSON.stringify(config.target_modules)} selects "${m.name}", ${what}; LoRA applies to Linear, Conv1D and Embedding layers (PEFT: "Target module ... is not supported")`);
    }
  }
  if (targets.size === 0) {
    const t = JSON.stringify(config.target_modules);
    if (excluded > 0 && unmatched === 0) throw new UserError(`${source}: all modules were excluded (PEFT: "This is likely unintended. Check your \`target_modules\`, \`exclude_modules\` and \`modules_to_save\` configuration.")`);
    if (excluded === 0) {
      const notes = [config.layers_to_transform !== null ? ` with layers_to_transform ${JSON.stringify(config.layers_to_transform)}` : '', config.layers_pattern !== null ? ` and layers_pattern ${JSON.stringify(config.layers_pattern)}` : ''].join('');
      throw new UserError(`${source}: target_modules ${t}${notes} match no module of the base model (PEFT: "Target modules ... not found in the base model")`);
    }
    throw new UserError(`${source}: no module was targeted: target_modules ${t} match only modules excluded by exclude_modules or modules_to_save`);
  }
  const warnings: string[] = [];
  if (config.exclude_modules !== null && config.exclude_modules.length > 0 && !modules.some((m) => excludedByConfig(m.name, config.exclude_modules))) {
    warnings.push(`${source}: exclude_modules ${JSON.stringify(config.exclude_modules)} excluded no module`);
  }
  const saved = modulesToSaveLeaves(modules, modulesToSave);
  const both = saved.find((m) => targets.has(m));
  if (both !== undefined) {
    throw new UserError(`${source}: "${both}" is both a LoRA target and in modules_to_save (PEFT's suffix match of ${JSON.stringify(modulesToSave)} wraps it, its dot-bounded guard does not exclude it); Rankfold does not train a LoRA layer inside a full copy`);
  }
  return { targets, modulesToSave: saved, warnings };
}
