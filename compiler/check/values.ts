// Values the checker computes with, and the scalar part of expression evaluation: integer
// arithmetic stays exact (results beyond 2^53 are E0402), `/` of two ints is an int when exact,
// and division by zero is E0403. Tensor arithmetic is in dataflow.ts.
import type { BinaryOp, Call, Expr, Loc, ParamType, UnaryOp } from '../language/ast.ts';
import { quote } from '../language/diagnostics.ts';
import type { CheckContext } from './context.ts';
import type { RopeConfig, ValueId } from './model.ts';

/** A `rope(...)` value: a RopeConfig whose rotary dim the attention layer fixes (dim = int(headDim · partial)). */
export type RopeValue = Omit<RopeConfig, 'dim'> & { partial: number };

export type Value =
  | { t: 'int'; v: number }
  | { t: 'float'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'string'; v: string }
  | { t: 'none' }
  /** A list parameter's value (bound from a JSON array): scalars of one type. */
  | { t: 'list'; items: Value[] }
  | { t: 'rope'; rope: RopeValue }
  | { t: 'tensor'; id: ValueId }
  | { t: 'tuple'; ids: ValueId[] }
  /** Already reported; operations on it stay silent so one mistake gives one diagnostic. */
  | { t: 'error' };

export const ERROR: Value = { t: 'error' };

export function typeName(v: Value): string {
  switch (v.t) {
    case 'int':
      return 'int';
    case 'float':
      return 'float';
    case 'bool':
      return 'bool';
    case 'string':
      return 'string';
    case 'none':
      return 'none';
    case 'list':
      return `list of ${v.items.length}`;
    case 'rope':
      return 'rope';
    case 'tensor':
      return 'tensor';
    case 'tuple':
      return `tuple of ${v.ids.length} tensors`;
    case 'error':
      return 'error';
  }
}

export function show(v: Value): string {
  if (v.t === 'int' || v.t === 'float' || v.t === 'bool') return String(v.v);
  if (v.t === 'string') return quote(v.v);
  if (v.t === 'list') return `[${v.items.slice(0, 4).map(show).join(', ')}${v.items.length > 4 ? ', ...' : ''}]`;
  return typeName(v);
}

export function isNumber(v: Value): v is { t: 'int' | 'float'; v: number } {
  return v.t === 'int' || v.t === 'float';
}

function checked(ctx: CheckContext, v: number, isInt: boolean, loc: Loc): Value {
  if (isInt && !Number.isSafeInteger(v)) {
    ctx.error('E0402', `integer overflow: the result exceeds 2^53 - 1`, loc);
    return ERROR;
  }
  if (!Number.isFinite(v)) {
    ctx.error('E0402', `the result is not a finite number`, loc);
    return ERROR;
  }
  return isInt ? { t: 'int', v } : { t: 'float', v };
}

export function unaryScalar(ctx: CheckContext, op: UnaryOp, a: Value, loc: Loc): Value {
  if (a.t === 'error') return ERROR;
  if (op === '-' && isNumber(a)) return checked(ctx, -a.v, a.t === 'int', loc);
  if (op === '!' && a.t === 'bool') return { t: 'bool', v: !a.v };
  ctx.error('E0401', `operator '${op}' does not apply to ${typeName(a)}`, loc);
  return ERROR;
}

/** Scalar binary operators; returns undefined when an operand is a tensor (the caller's case). */
export function binaryScalar(ctx: CheckContext, op: BinaryOp, a: Value, b: Value, loc: Loc, opLoc: Loc): Value {
  if (a.t === 'error' || b.t === 'error') return ERROR;
  if (op === '&&' || op === '||') {
    if (a.t === 'bool' && b.t === 'bool') return { t: 'bool', v: op === '&&' ? a.v && b.v : a.v || b.v };
  } else if (op === '==' || op === '!=') {
    // Comparing with none asks whether a value is none (an optional parameter unset), whatever its type.
    if (a.t === 'none' || b.t === 'none') {
      const eq = a.t === b.t;
      return { t: 'bool', v: op === '==' ? eq : !eq };
    }
    const same = (isNumber(a) && isNumber(b)) || a.t === b.t;
    if (same && a.t !== 'tensor' && a.t !== 'tuple' && a.t !== 'list' && a.t !== 'rope') {
      const eq = 'v' in a && 'v' in b && a.v === b.v;
      return { t: 'bool', v: op === '==' ? eq : !eq };
    }
  } else if (isNumber(a) && isNumber(b)) {
    const bothInt = a.t === 'int' && b.t === 'int';
    switch (op) {
      case '+':
        return checked(ctx, a.v + b.v, bothInt, loc);
      case '-':
        return checked(ctx, a.v - b.v, bothInt, loc);
      case '*':
        return checked(ctx, a.v * b.v, bothInt, loc);
      case '/':
      case '%':
        if (b.v === 0) {
          ctx.error('E0403', `division by zero: ${show(a)} ${op} 0`, opLoc);
          return ERROR;
        }
        if (op === '%') return checked(ctx, a.v % b.v, bothInt, loc);
        return checked(ctx, a.v / b.v, bothInt && a.v % b.v === 0, loc);
      case '<':
        return { t: 'bool', v: a.v < b.v };
      case '<=':
        return { t: 'bool', v: a.v <= b.v };
      case '>':
        return { t: 'bool', v: a.v > b.v };
      case '>=':
        return { t: 'bool', v: a.v >= b.v };
    }
  } else if (op === '+' && a.t === 'string' && b.t === 'string') {
    if (a.v.length + b.v.length > 1 << 20) {
      ctx.error('E0404', 'string longer than 1 MiB', loc);
      return ERROR;
    }
    return { t: 'string', v: a.v + b.v };
  }
  ctx.error('E0401', `operator '${op}' does not apply to ${typeName(a)} and ${typeName(b)}`, opLoc);
  return ERROR;
}

/** `list[i]`: an item of a list; the index must be an int within it. */
export function indexValue(ctx: CheckContext, list: Value, index: Value, e: Expr & { kind: 'Index' }): Value {
  if (list.t === 'error' || index.t === 'error') return ERROR;
  if (list.t !== 'list') {
    ctx.error('E0401', `'${e.target.name}' is ${typeName(list)}, not a list: it cannot be indexed`, e.target.loc);
    return ERROR;
  }
  if (index.t !== 'int') {
    ctx.error('E0401', `a list index must be an int, not ${typeName(index)}`, e.index.loc);
    return ERROR;
  }
  if (index.v < 0 || index.v >= list.items.length) {
    ctx.error('E0404', `index ${index.v} is outside '${e.target.name}' (${list.items.length} items)`, e.index.loc);
    return ERROR;
  }
  return list.items[index.v]!;
}

/**
 * Evaluates a scalar-only expression (parameter defaults, settings) against a lookup. `call`
 * evaluates the built-in scalar functions (sqrt, select, ...) where they are allowed.
 */
export function evalScalar(ctx: CheckContext, e: Expr, lookup: (name: string, loc: Loc) => Value, call?: (c: Call) => Value): Value {
  const ev = (x: Expr): Value => evalScalar(ctx, x, lookup, call);
  switch (e.kind) {
    case 'Number':
      return e.isInt ? { t: 'int', v: e.value } : { t: 'float', v: e.value };
    case 'String':
      return { t: 'string', v: e.value };
    case 'Bool':
      return { t: 'bool', v: e.value };
    case 'None':
      return { t: 'none' };
    case 'Name':
      return lookup(e.name, e.loc);
    case 'Index':
      return indexValue(ctx, lookup(e.target.name, e.target.loc), ev(e.index), e);
    case 'Unary':
      return unaryScalar(ctx, e.op, ev(e.operand), e.loc);
    case 'Binary':
      return binaryScalar(ctx, e.op, ev(e.left), ev(e.right), e.loc, e.opLoc);
    case 'Call':
      if (call) return call(e);
      ctx.error('E0401', `'${e.callee.name}(...)' is not allowed here: expected a constant value`, e.callee.loc);
      return ERROR;
  }
}

/** A parameter's declared type: `int`, `float[]`, `string?`, ... */
export interface DeclaredType {
  type: ParamType;
  list: boolean;
  optional: boolean;
}

export function typeText(d: DeclaredType): string {
  return `${d.type}${d.list ? '[]' : ''}${d.optional ? '?' : ''}`;
}

/**
 * Coerces a value to a declared type: int -> float is the only implicit conversion (item by item
 * for lists); none fits only an optional type.
 */
export function coerce(v: Value, d: ParamType | DeclaredType): Value | undefined {
  const t: DeclaredType = typeof d === 'string' ? { type: d, list: false, optional: false } : d;
  if (v.t === 'error') return v;
  if (v.t === 'none') return t.optional ? v : undefined;
  if (t.list) {
    if (v.t !== 'list') return undefined;
    const items: Value[] = [];
    for (const item of v.items) {
      const c = coerce(item, t.type);
      if (!c) return undefined;
      items.push(c);
    }
    return { t: 'list', items };
  }
  if (v.t === t.type) return v;
  if (t.type === 'float' && v.t === 'int') return { t: 'float', v: v.v };
  return undefined;
}
