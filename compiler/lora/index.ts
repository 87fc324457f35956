// Rankfold's one LoRA/PEFT module: the settings of an adapted module (lora-config.ts), PEFT's
// adapter_config.json (peft-config.ts), which modules a config adapts (targets.ts), PEFT's tensor
// names (keys.ts), merge and unmerge arithmetic incl. DoRA (merge-math.ts), Python-regex matching in bounded time (pyregex.ts). The spec checker, the
// loaders, the merge and the CLI all call these; nothing else re-implements them. Pure: no Node APIs.
export * from './lora-config.ts';
export * from './peft-config.ts';
export * from './targets.ts';
export * from './keys.ts';
export { compilePyRegex, pyEscape, PyRegex, PyRegexError, MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE } from './pyregex.ts';
export * from './merge-math.ts';
export * from './peft-fields.ts';
