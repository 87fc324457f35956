// Re-targets a checked model's adapters from a PEFT adapter_config.json, with PEFT's semantics:
// target_modules (list by suffix, regex by full match, 'all-linear' without the output head),
// rank_pattern / alpha_pattern, use_rslora, use_dora, lora_dropout. The spec's own `lora`
// statements are replaced, so one llama.rf serves any PEFT adapter.
import type { CheckedModel, Op, Weight } from '../../compiler/check/model.ts';
import { countParams } from '../../compiler/check/index.ts';
import { UserError } from '../../compiler/errors.ts';
import { adapterTensors, isTargetModule, loraConfigFor, type PeftConfig } from '../../compiler/lora/index.ts';

export function applyPeftConfig(model: CheckedModel, config: PeftConfig, source = 'adapter_config.json'): CheckedModel {
  const ops: Op[] = model.ops.map((op) => {
    if (op.op !== 'linear') return op;
    const { lora: _old, ...rest } = op;
    if (!isTargetModule(op.module, config, { isOutputHead: op.head, isLinear: true })) return rest;
    // Conv1D layers need fan_in_fan_out in PEFT (it warns and sets it); our lowering reads the
    // layout from the spec, so the flag does not change the math here.
    return { ...rest, lora: loraConfigFor(op.module, config) };
  });
  const linear = ops.filter((o): o is Extract<Op, { op: 'linear' }> => o.op === 'linear');
  const targets = linear.filter((o) => o.lora);
  if (targets.length === 0) throw new UserError(`${source}: target_modules ${JSON.stringify(config.target_modules)} match no linear layer of ${model.file}`);
  const base = model.weights.filter((w) => w.role !== 'adapter');
  const adapters: Weight[] = [];
  for (const o of targets) {
    for (const t of adapterTensors(o.module, 'linear', o.inFeatures, o.outFeatures, o.lora!)) {
      adapters.push({ name: t.name, module: o.module, shape: t.shape, layout: t.shape.length === 1 ? 'vector' : 'linear', role: 'adapter', numel: t.shape.reduce((a, b) => a * b, 1) });
    }
  }
  // PEFT freezes every non-adapter weight, except biases with bias="all" (every bias) or
  // bias="lora_only" (the biases of adapted layers), which then train alongside the adapters.
  const targetModules = new Set(targets.map((o) => o.module));
  const trainsBias = (w: Weight) =>
    w.name.endsWith('.bias') && w.layout === 'vector' && (config.bias === 'all' || (config.bias === 'lora_only' && targetModules.has(w.module)));
  const frozenBase = base.map((w) => ({ ...w, role: trainsBias(w) ? ('trainable' as const) : ('frozen' as const) }));
  const weights = [...frozenBase, ...adapters];
  return {
    ...model,
    ops,
    weights,
    lora: targets.map((o) => ({ module: o.module, inFeatures: o.inFeatures, outFeatures: o.outFeatures, config: o.lora! })),
    counts: countParams(weights),
  };
}
