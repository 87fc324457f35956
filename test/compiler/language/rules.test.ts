// One block per checker rule: the message and location of what each rule reports, and that the
// valid form passes.
import { describe, expect, it } from 'vitest';
import { checkSpec } from '../../../compiler/check/index.ts';
import { errors, tiny } from './helpers.ts';

const ok = (text: string, opts = {}) => {
  const r = checkSpec(text, 't.rf', opts);
  expect(r.diagnostics).toEqual([]);
  return r.model!;
};

describe('rule: structure', () => {
  it('needs one model with input and output, one train block', () => {
    expect(errors('train { steps = 1 }')).toEqual(["1:1 E0306 the spec has no model: start with 'model name(...) { ... }'"]);
    expect(errors('model m { }')[0]).toBe("1:7 E0306 model 'm' has no input (add 'input ids: tokens') and no output (add 'output logits')");
    expect(errors(tiny('  output x', 'd: int = 8', 'train {}\ntrain {}'))).toEqual(['7:1 E0306 only one train block per file']);
    expect(errors(tiny('  repeat i in 0..2 { output x }\n  output x'))).toEqual(["4:22 E0306 'output' belongs at the top level of the model, not inside repeat"]);
  });
});

describe('rule: unique names', () => {
  it('reports duplicates and reassigned parameters', () => {
    expect(errors(tiny('  output x', 'd: int = 8, d: int = 9'))).toEqual(['1:21 E0303 parameter \'d\' is already declared at line 1, column 9']);
    expect(errors(tiny('  d = x\n  output x'))).toEqual(["4:3 E0303 'd' is a parameter (declared at line 1, column 9) and cannot be reassigned"]);
    expect(errors(tiny('  repeat i in 0..2 { repeat i in 0..2 { } }\n  output x'))[0]).toMatch(/^4:29 E0303 loop variable 'i' hides the loop variable/);
  });
});

describe('rule: defined before use', () => {
  it('reports unknown names, forward references and self-reference', () => {
    expect(errors(tiny('  y = xx\n  output y'))).toEqual(["4:7 E0301 unknown name 'xx' (did you mean 'x'?)"]);
    expect(errors(tiny('  y = z\n  z = x\n  output y'))).toEqual(["4:7 E0302 'z' is used before it is defined (line 5, column 3)"]);
    expect(errors(tiny('  y = y + x\n  output y'))).toEqual(["4:7 E0302 'y' is used in its own definition"]);
    expect(errors(tiny('  output x', 'a: int = b, b: int = 1, d: int = 8'))).toEqual(["1:18 E0302 'b' is used before it is defined (line 1, column 21)"]);
    expect(errors(tiny('  repeat i in 0..2 { }\n  y = x\n  output i'))).toEqual(["6:10 E0302 'i' is a loop variable, defined only inside its repeat (line 4)"]);
  });
});

describe('rule: known functions', () => {
  it('reports unknown functions and bad arguments', () => {
    expect(errors(tiny('  y = rmsnrom(x) as "n"\n  output y'))).toEqual(["4:7 E0304 unknown function 'rmsnrom' (did you mean 'rmsnorm'?)"]);
    expect(errors(tiny('  y = rmsnorm(x, epsilon = 1e-5) as "n"\n  output y'))).toEqual(["4:18 E0305 'rmsnorm' has no argument 'epsilon' (arguments: x, eps, offset)"]);
    expect(errors(tiny('  y = linear(x, d) as "n"\n  output y'))).toEqual(["4:17 E0305 argument 'dims' must be 'in -> out'"]);
    expect(errors(tiny('  y = attention(x, x, x)\n  output y'))).toEqual(["4:7 E0305 'attention' needs argument 'heads'"]);
  });
});

describe('rule: modifiers', () => {
  it('allows lora and tied on linear maps only', () => {
    expect(errors(tiny('  y = rmsnorm(x) as "n" lora(rank = 2)\n  output y'))).toEqual(["4:25 E0601 LoRA applies to linear maps and embeddings (linear, conv1d, embedding, positions), not to 'rmsnorm'"]);
    expect(errors(tiny('  y = gelu(x) frozen\n  output y'))).toEqual(["4:15 E0310 'gelu' has no weights, so 'frozen' does not apply"]);
  });
});

describe('parameters and config binding', () => {
  const spec = 'model m(d: int = 8, theta: float = 1.0, h: int = 4 * d) {\n  config { d = "n_embd"; theta = "rope.theta" | "rope_theta"; h = "n_inner" }\n  input ids: tokens\n  x = embedding(ids, 10, h) as "e"\n  output x\n}';
  it('binds from config.json with alternatives, nested keys and null', () => {
    const m = ok(spec, { config: { n_embd: 16, rope_theta: 5, n_inner: null } });
    expect(m.params).toEqual({ d: 16, theta: 5, h: 64 });
    expect(ok(spec, { config: { rope: { theta: 2.5 } }, overrides: { d: 2 } }).params).toEqual({ d: 2, theta: 2.5, h: 8 });
  });
  it('reports wrong config types, unknown overrides and unbound parameters', () => {
    expect(errors(spec, { config: { n_embd: 'big' } })).toEqual(["2:16 E0406 config key 'n_embd' is 'big' (string), but parameter 'd' is int"]);
    expect(errors(spec, { overrides: { dd: 3 } })).toEqual(["1:7 E0406 --set dd: model 'm' has no parameter 'dd' (parameters: d, theta, h)"]);
    expect(errors(tiny('  output x', 'd: int'))).toEqual(["1:9 E0405 parameter 'd' has no value: give it a default, --set d=..."]);
  });
  it('reports division by zero and overflow', () => {
    expect(errors(tiny('  output x', 'd: int = 8 / (4 - 4)'))).toEqual(['1:20 E0403 division by zero: 8 / 0']);
    expect(errors(tiny('  output x', 'd: int = 4294967296 * 4294967296'))).toEqual(['1:18 E0402 integer overflow: the result exceeds 2^53 - 1']);
  });
});

describe('dataflow and shapes', () => {
  it('knows every tensor shape', () => {
    const m = ok(tiny('  q, k, v = split(linear(x, d -> 3 * d) as "qkv", 3)\n  y = x + attention(q, k, v, heads = 2, rope = 10000.0)\n  output y'));
    expect(m.values.map((v) => v.shape.join(','))).toEqual(['B,T', 'B,T,8', 'B,T,24', 'B,T,8', 'B,T,8', 'B,T,8', 'B,T,8', 'B,T,8']);
    expect(m.values.map((v) => v.label)).toEqual(['ids', 'x', 'qkv', 'q', 'k', 'v', 'attention', 'y']);
  });
  it('names both sides of a mismatch', () => {
    expect(errors(tiny('  y = linear(x, 4 -> 4) as "p"\n  output y'))).toEqual(["4:17 E0501 linear 'p' expects 4 input features, but 'x' has shape [B, T, 8]"]);
  });
  it('reports duplicate module names from a repeat', () => {
    expect(errors(tiny('  repeat i in 0..2 { x = linear(x, d -> d) as "p" }\n  output x'))[0]).toMatch(/^4:47 E0308 module 'p' is already defined at line 4, column 47/);
  });
  it('ties weights and counts them once', () => {
    const m = ok(tiny('  y = linear(x, d -> 10, bias = false) as "head" tied "wte"\n  output y'));
    expect(m.counts.base).toBe(80);
  });
});

describe('rule: lora targets', () => {
  const model = tiny('  default frozen\n  repeat i in 0..2 {\n    q = linear(x, d -> d) as "l.{i}.q_proj"\n    x = x + linear(q, d -> d) as "l.{i}.v_proj"\n  }\n  y = linear(x, d -> 10) as "lm_head"\n  output y');
  it('matches by suffix with per-module overrides', () => {
    const m = ok(model + '\nlora targets ["q_proj"] (rank = 4, alpha = 8, rslora = true) { override "l\\.1\\.q_proj" (rank = 2) }');
    expect(m.lora.map((t) => [t.module, t.config.rank, t.config.alpha])).toEqual([['l.0.q_proj', 4, 8], ['l.1.q_proj', 2, 8]]);
    expect(m.lora[0]!.config.scaling).toBe(4);
    expect(m.counts).toEqual({ base: 80 + 4 * 72 + 90, adapter: 4 * 16 + 2 * 16, total: 80 + 4 * 72 + 90 + 96, trainable: 96, frozen: 80 + 4 * 72 + 90 });
  });
  it('embeddings take LoRA (not lora_bias); `lora trainable` is PEFT\'s modules_to_save; one bias setting', () => {
    const m = ok(model + '\nlora targets ["wte", "q_proj"] (rank = 2, bias = "lora_only")\nlora trainable ["head"]');
    expect(m.lora.map((t) => [t.module, t.kind, t.inFeatures, t.outFeatures])).toEqual([['wte', 'embedding', 10, 8], ['l.0.q_proj', 'linear', 8, 8], ['l.1.q_proj', 'linear', 8, 8]]);
    expect(m.weights.filter((w) => w.module === 'wte' && w.role === 'adapter').map((w) => [w.name, w.shape])).toEqual([['wte.lora_embedding_A', [2, 10]], ['wte.lora_embedding_B', [8, 2]]]);
    expect(m.adapterOptions).toEqual({ bias: 'lora_only', modulesToSave: ['head'] });
    // PEFT's modules_to_save matches a plain suffix: "head" is lm_head.
    expect(m.weights.filter((w) => w.role === 'trainable').map((w) => w.name)).toEqual(['lm_head.weight', 'lm_head.bias']);
    expect(errors(model + '\nlora targets ["wte"] (lora_bias = true)')).toEqual(["13:14 E0604 LoRA lora_bias is not supported on the embedding 'wte' (as in PEFT)"]);
    expect(errors(model + '\nlora trainable ["q_proj"]\nlora targets ["q_proj"]')).toEqual(["13:17 E0603 module 'l.0.q_proj' is both a LoRA target and trainable in full; PEFT gives a module one or the other"]);
  });
  it('all-linear skips the output head; regex must match the whole name', () => {
    expect(ok(model + '\nlora targets all-linear').lora).toHaveLength(4);
    expect(ok(model + '\nlora targets regex "l\\.\\d\\.v_proj"').lora.map((t) => t.module)).toEqual(['l.0.v_proj', 'l.1.v_proj']);
    expect(errors(model + '\nlora targets regex "v_proj"')).toEqual(["13:20 E0602 LoRA target regex 'v_proj' matches no module"]);
  });
  it('reports unmatched, non-linear, doubly configured targets and bad settings', () => {
    expect(errors(tiny('  x = rmsnorm(x) as "norm"\n  output x', 'd: int = 8', 'lora targets ["norm"]'))).toEqual(["7:15 E0601 LoRA target 'norm' matches 'norm' (rmsnorm); LoRA applies only to linear, conv1d and embedding layers"]);
    expect(errors(model + '\nlora targets ["q_proj"]\nlora targets ["q_proj"]')).toEqual(['14:14 E0603 module \'l.0.q_proj\' already has LoRA settings from line 13']);
    expect(errors(model + '\nlora targets ["q_proj"] (dropout = 1)')).toEqual(['13:36 E0604 LoRA dropout must be in [0, 1), not 1']);
  });
});

describe('rule: train', () => {
  it('reads a complete recipe', () => {
    const m = ok(tiny('  output x', 'd: int = 8', 'train { optimizer = sgd(lr = 0.1, momentum = 0.9); schedule = cosine(warmup = 5); batch = 2; seq = d * 4; steps = 7; data = "a.txt" }'));
    expect(m.train).toEqual({ optimizer: { name: 'sgd', lr: 0.1, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, momentum: 0.9 }, schedule: { name: 'cosine', warmup: 5, minLr: 0 }, batch: 2, seq: 32, steps: 7, data: 'a.txt' });
  });
  it('reports unknown settings with a hint', () => {
    expect(errors(tiny('  output x', 'd: int = 8', 'train { step = 3 }'))).toEqual(["6:9 E0701 unknown train setting 'step' (did you mean 'steps'?)"]);
  });
  it('reads recompute = "blocks" and refuses other values', () => {
    expect(ok(tiny('  output x', 'd: int = 8', 'train { recompute = "blocks" }')).train).toEqual({ recompute: 'blocks' });
    expect(errors(tiny('  output x', 'd: int = 8', 'train { recompute = "layers" }'))).toEqual(["6:21 E0702 recompute must be one of \"none\", \"blocks\", not 'layers'"]);
    expect(errors(tiny('  output x', 'd: int = 8', 'train { recompute = true }'))).toEqual(['6:21 E0702 recompute must be one of "none", "blocks", not true']);
  });
});
