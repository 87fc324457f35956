// Traversal helpers shared by the static rules.
import type { Call, Expr, Stmt } from '../../language/ast.ts';

/** Calls every expression node under `e` (pre-order), including call arguments and modifiers. */
export function walkExpr(e: Expr, fn: (e: Expr) => void): void {
  // An explicit stack: expression depth is capped, but a rule should not depend on that.
  const stack: Expr[] = [e];
  while (stack.length) {
    const x = stack.pop()!;
    fn(x);
    if (x.kind === 'Unary') stack.push(x.operand);
    else if (x.kind === 'Index') stack.push(x.index, x.target);
    else if (x.kind === 'Binary') stack.push(x.right, x.left);
    else if (x.kind === 'Call') {
      for (const m of [...x.modifiers].reverse()) {
        if (m.kind === 'Lora') for (const a of [...m.args].reverse()) stack.push(a.value);
        if (m.kind === 'Tied' && m.when) stack.push(m.when);
      }
      for (const a of [...x.args].reverse()) {
        if (a.to) stack.push(a.to);
        stack.push(a.value);
      }
    }
  }
}

export function stmtExprs(s: Stmt): Expr[] {
  switch (s.kind) {
    case 'Input':
      return s.features ? [s.features] : [];
    case 'Repeat':
      return [s.from, s.to];
    case 'Assign':
      return [s.value];
    default:
      return [];
  }
}

/** Every call in a statement list, nested repeats included. */
export function allCalls(stmts: Stmt[], fn: (c: Call) => void): void {
  for (const s of stmts) {
    for (const e of stmtExprs(s)) walkExpr(e, (x) => x.kind === 'Call' && fn(x));
    if (s.kind === 'Repeat') allCalls(s.body, fn);
  }
}
