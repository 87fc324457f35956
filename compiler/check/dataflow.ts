// Elaboration: runs the model body with parameters bound, unrolling repeats, and records every
// tensor (with its static shape), every op and every weight. Statements execute in order, so a
// name is whatever it was last assigned (`x = x + ...` in a repeat threads x through the layers).
import type { Call, Expr, Loc, ModelDecl, Stmt } from '../language/ast.ts';
import { quote } from '../language/diagnostics.ts';
import { Abort, MAX_OPS, didYouMean, type CheckContext } from './context.ts';
import type { BiasMode, Dim, LoraConfig, Op, Role, TensorValue, ValueId, Weight } from './model.ts';
import { binaryScalar, ERROR, indexValue, isNumber, typeName, unaryScalar, type Value } from './values.ts';

export interface ModuleDef {
  module: string;
  fn: string;
  loc: Loc;
  /** Index into ops of the op that owns the module. */
  op: number;
}

export function shapeText(shape: Dim[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Evaluates one call of a built-in function or layer (layers.ts's applyFunction). Passed in rather
 * than imported, so that layers.ts can build on the Elaborator without an import cycle.
 */
export type CallEvaluator = (el: Elaborator, c: Call) => Value;

export class Elaborator {
  readonly values: TensorValue[] = [];
  readonly ops: Op[] = [];
  readonly weights: Weight[] = [];
  readonly weightByName = new Map<string, Weight>();
  readonly modules = new Map<string, ModuleDef>();
  /** Inline `lora(...)` settings, by module name (with PEFT's `bias` when the modifier gives it). */
  readonly inlineLora = new Map<string, { config: LoraConfig; loc: Loc; biasMode?: { mode: BiasMode; loc: Loc } }>();
  readonly inputs: { name: string; value: ValueId; kind: 'tokens' | 'features' }[] = [];
  readonly outputs: { name: string; value: ValueId }[] = [];
  readonly env = new Map<string, Value>();
  readonly defaultRole: Role;
  private loopSuffix: string[] = [];
  /** The next block index: one per iteration of an outermost `repeat` (Op.block). */
  private nextBlock = 0;

  constructor(
    readonly ctx: CheckContext,
    readonly model: ModelDecl,
    readonly params: Map<string, Value>,
    private readonly evaluateCall: CallEvaluator,
  ) {
    for (const [k, v] of params) this.env.set(k, v);
    const d = model.body.find((s) => s.kind === 'Default');
    this.defaultRole = d && d.kind === 'Default' ? d.mark : 'trainable';
  }

  lookup = (name: string): Value | undefined => this.env.get(name);
  names = (): Iterable<string> => this.env.keys();

  newValue(shape: Dim[], dtype: 'i32' | 'f32', label: string): ValueId {
    const id = this.values.length;
    if (id >= MAX_OPS) {
      this.ctx.error('E0407', `the model unrolls to more than ${MAX_OPS} tensors`, this.model.name.loc);
      throw new Abort();
    }
    this.values.push({ id, shape, dtype, label: label + this.loopSuffix.join('') });
    return id;
  }

  tensor(id: ValueId): TensorValue {
    return this.values[id]!;
  }

  run(): void {
    try {
      this.stmts(this.model.body);
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
    }
    // An op whose result is a model output directly is the output head (PEFT's all-linear skips it).
    const outs = new Set(this.outputs.map((o) => o.value));
    for (const op of this.ops) if (op.op === 'linear' && outs.has(op.out)) op.head = true;
  }

  private stmts(list: Stmt[]): void {
    for (const s of list) this.stmt(s);
  }

  private stmt(s: Stmt): void {
    switch (s.kind) {
      case 'Config':
      case 'Default':
        return;
      case 'Input': {
        let shape: Dim[] = ['B', 'T'];
        let kind: 'tokens' | 'features' = 'tokens';
        if (s.features) {
          const f = this.positiveInt(this.expr(s.features), s.features.loc, 'input features');
          if (f === undefined) return void this.env.set(s.name.name, ERROR);
          shape = ['B', 'T', f];
          kind = 'features';
        }
        const id = this.newValue(shape, kind === 'tokens' ? 'i32' : 'f32', s.name.name);
        this.inputs.push({ name: s.name.name, value: id, kind });
        this.env.set(s.name.name, { t: 'tensor', id });
        return;
      }
      case 'Output': {
        const v = this.env.get(s.name.name);
        if (v === undefined) this.ctx.error('E0301', `unknown name '${s.name.name}'${didYouMean(s.name.name, this.env.keys())}`, s.name.loc);
        else if (v.t === 'tensor') this.outputs.push({ name: s.name.name, value: v.id });
        else if (v.t !== 'error') this.ctx.error('E0401', `output '${s.name.name}' must be a tensor, not ${typeName(v)}`, s.name.loc);
        return;
      }
      case 'Repeat': {
        const from = this.expr(s.from);
        const to = this.expr(s.to);
        if (from.t === 'error' || to.t === 'error') return;
        if (from.t !== 'int' || to.t !== 'int') {
          this.ctx.error('E0401', `repeat bounds must be ints, not ${typeName(from)} .. ${typeName(to)}`, from.t !== 'int' ? s.from.loc : s.to.loc);
          return;
        }
        if (to.v < from.v) {
          this.ctx.error('E0404', `repeat range ${from.v}..${to.v} is empty backwards (the end is excluded; write ${to.v}..${from.v}?)`, s.to.loc);
          return;
        }
        if (to.v - from.v > MAX_OPS) {
          this.ctx.error('E0407', `repeat runs ${to.v - from.v} times; the limit is ${MAX_OPS}`, s.to.loc);
          throw new Abort();
        }
        const outermost = this.loopSuffix.length === 0;
        for (let i = from.v; i < to.v; i++) {
          this.env.set(s.variable.name, { t: 'int', v: i });
          this.loopSuffix.push(`[${s.variable.name}=${i}]`);
          const first = this.ops.length;
          try {
            this.stmts(s.body);
          } finally {
            this.loopSuffix.pop();
          }
          // Each iteration of an outermost repeat is one block (a layer), nested repeats included.
          if (outermost) {
            for (const op of this.ops.slice(first)) op.block = this.nextBlock;
            this.nextBlock++;
          }
        }
        this.env.delete(s.variable.name);
        return;
      }
      case 'Assign': {
        const v = this.expr(s.value);
        if (s.targets.length === 1) {
          const t = s.targets[0]!;
          if (v.t === 'tuple') {
            this.ctx.error('E0401', `the right side gives ${v.ids.length} tensors; write ${v.ids.map((_, i) => `${t.name}${i}`).join(', ')} = ...`, t.loc);
            this.env.set(t.name, ERROR);
            return;
          }
          if (v.t === 'tensor') this.values[v.id]!.label = t.name + this.loopSuffix.join('');
          this.env.set(t.name, v);
          return;
        }
        if (v.t === 'error') {
          for (const t of s.targets) this.env.set(t.name, ERROR);
          return;
        }
        if (v.t !== 'tuple' || v.ids.length !== s.targets.length) {
          this.ctx.error('E0401', `${s.targets.length} names on the left but the right side gives ${v.t === 'tuple' ? v.ids.length + ' tensors' : 'one ' + typeName(v)}`, s.targets[0]!.loc);
          for (const t of s.targets) this.env.set(t.name, ERROR);
          return;
        }
        s.targets.forEach((t, i) => {
          this.values[v.ids[i]!]!.label = t.name + this.loopSuffix.join('');
          this.env.set(t.name, { t: 'tensor', id: v.ids[i]! });
        });
        return;
      }
    }
  }

  expr(e: Expr): Value {
    switch (e.kind) {
      case 'Number':
        return e.isInt ? { t: 'int', v: e.value } : { t: 'float', v: e.value };
      case 'String':
        return { t: 'string', v: e.value };
      case 'Bool':
        return { t: 'bool', v: e.value };
      case 'None':
        return { t: 'none' };
      case 'Name': {
        const v = this.env.get(e.name);
        if (v !== undefined) return v;
        this.ctx.error('E0301', `unknown name '${e.name}'${didYouMean(e.name, this.env.keys())}`, e.loc);
        return ERROR;
      }
      case 'Index':
        return indexValue(this.ctx, this.expr(e.target), this.expr(e.index), e);
      case 'Unary': {
        const a = this.expr(e.operand);
        if (a.t === 'tensor') {
          this.ctx.error('E0401', `operator '${e.op}' does not apply to a tensor`, e.loc);
          return ERROR;
        }
        return unaryScalar(this.ctx, e.op, a, e.loc);
      }
      case 'Binary': {
        const a = this.expr(e.left);
        const b = this.expr(e.right);
        if (a.t === 'tensor' || b.t === 'tensor') return this.tensorBinary(e.op, a, b, e.opLoc, e);
        return binaryScalar(this.ctx, e.op, a, b, e.loc, e.opLoc);
      }
      case 'Call':
        return this.call(e);
    }
  }

  private tensorBinary(op: string, a: Value, b: Value, opLoc: Loc, e: Expr & { kind: 'Binary' }): Value {
    if (a.t === 'error' || b.t === 'error') return ERROR;
    if (op === '*' && (isNumber(a) || isNumber(b))) {
      // A tensor times a number (Gemma's embedding scale): one `scale` op.
      const [t, c, side] = a.t === 'tensor' ? [a, b as { v: number }, e.left] : [b as { t: 'tensor'; id: ValueId }, a as { v: number }, e.right];
      if (this.tensor(t.id).dtype !== 'f32') {
        this.ctx.error('E0401', `token ids cannot be used in arithmetic; embed them first`, side.loc);
        return ERROR;
      }
      const out = this.newValue([...this.tensor(t.id).shape], 'f32', 'scale');
      this.ops.push({ op: 'scale', out, x: t.id, c: c.v });
      return { t: 'tensor', id: out };
    }
    if ((op !== '+' && op !== '*') || a.t !== 'tensor' || b.t !== 'tensor') {
      this.ctx.error('E0401', `operator '${op}' does not apply to ${typeName(a)} and ${typeName(b)} (tensors support + and * with tensors of the same shape, and * with a number)`, opLoc);
      return ERROR;
    }
    const ta = this.tensor(a.id);
    const tb = this.tensor(b.id);
    if (ta.dtype !== 'f32' || tb.dtype !== 'f32') {
      this.ctx.error('E0401', `token ids cannot be used in arithmetic; embed them first`, ta.dtype !== 'f32' ? e.left.loc : e.right.loc);
      return ERROR;
    }
    if (shapeText(ta.shape) !== shapeText(tb.shape)) {
      this.ctx.error('E0501', `cannot ${op === '+' ? 'add' : 'multiply'} '${ta.label}' ${shapeText(ta.shape)} and '${tb.label}' ${shapeText(tb.shape)}: shapes differ`, opLoc);
      return ERROR;
    }
    const out = this.newValue([...ta.shape], 'f32', op === '+' ? 'add' : 'mul');
    this.ops.push({ op: op === '+' ? 'add' : 'mul', out, a: a.id, b: b.id });
    return { t: 'tensor', id: out };
  }

  private call(c: Call): Value {
    return this.evaluateCall(this, c);
  }

  /** Checks a dimension-like value: an int in [1, MAX_DIM]. */
  positiveInt(v: Value, loc: Loc, what: string): number | undefined {
    if (v.t === 'error') return undefined;
    if (v.t !== 'int') {
      this.ctx.error('E0401', `${what} must be an int, not ${typeName(v)}`, loc);
      return undefined;
    }
    if (v.v < 1 || v.v > 1 << 30) {
      this.ctx.error('E0404', `${what} must be from 1 to 2^30, not ${v.v}`, loc);
      return undefined;
    }
    return v.v;
  }

  /** Registers a module name once; a second definition is E0308 naming the first. */
  defineModule(module: string, fn: string, loc: Loc): boolean {
    const prev = this.modules.get(module);
    if (prev) {
      const hint = this.loopSuffix.length && !/\{/.test(module) ? ' (inside a repeat, put the loop variable in the name: "...{i}...")' : '';
      this.ctx.error('E0308', `module ${quote(module)} is already defined at line ${prev.loc.line}, column ${prev.loc.col}${hint}`, loc);
      return false;
    }
    this.modules.set(module, { module, fn, loc, op: this.ops.length });
    return true;
  }

  addWeight(w: Omit<Weight, 'numel'>, loc: Loc): Weight | undefined {
    let numel = 1;
    for (const d of w.shape) numel *= d;
    if (!Number.isSafeInteger(numel)) {
      this.ctx.error('E0402', `weight ${quote(w.name)} of shape ${shapeText(w.shape)} has more than 2^53 elements`, loc);
      return undefined;
    }
    const weight: Weight = { ...w, numel };
    this.weights.push(weight);
    this.weightByName.set(weight.name, weight);
    return weight;
  }
}
