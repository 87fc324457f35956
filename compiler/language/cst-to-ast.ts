// Builds the typed AST (ast.ts) from chevrotain's CST with a CST visitor. It runs only on CSTs that
// parsed without errors, so every child the grammar requires is present. Token-level checks that
// need the token text (string escapes, integer range) and the expression-depth cap live here.
import type { CstNode, IToken, CstElement } from 'chevrotain';
import type * as A from './ast.ts';
import { diag, type Diagnostic, type Loc } from './diagnostics.ts';
import { specParser } from './parser.ts';

type Ctx = Record<string, CstElement[] | undefined>;

/** Deepest expression tree accepted; the checker walks expressions recursively. */
export const MAX_EXPR_DEPTH = 200;

const BaseVisitor = specParser.getBaseCstVisitorConstructor();

export function tokenLoc(t: IToken): Loc {
  return { line: t.startLine ?? 1, col: t.startColumn ?? 1, endLine: t.endLine ?? t.startLine ?? 1, endCol: (t.endColumn ?? t.startColumn ?? 1) + 1 };
}

function nodeLoc(n: CstNode): Loc {
  const l = n.location!;
  return { line: l.startLine ?? 1, col: l.startColumn ?? 1, endLine: l.endLine ?? 1, endCol: (l.endColumn ?? 0) + 1 };
}

function span(a: Loc, b: Loc): Loc {
  return { line: a.line, col: a.col, endLine: b.endLine, endCol: b.endCol };
}

function toks(ctx: Ctx, name: string): IToken[] {
  return (ctx[name] ?? []) as IToken[];
}
function tok(ctx: Ctx, name: string): IToken | undefined {
  return ctx[name]?.[0] as IToken | undefined;
}
function nodes(ctx: Ctx, name: string): CstNode[] {
  return (ctx[name] ?? []) as CstNode[];
}
function node(ctx: Ctx, name: string): CstNode | undefined {
  return ctx[name]?.[0] as CstNode | undefined;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', '"': '"', '\\': '\\' };

class AstBuilder extends BaseVisitor {
  readonly diagnostics: Diagnostic[] = [];
  private depth = new WeakMap<A.Expr, number>();

  constructor(readonly file: string) {
    super();
    // No validateVisitor(): the class is checked by TypeScript and by the golden tests.
  }

  /** chevrotain passes a node's children to its method; the node itself (for its location) goes as the extra argument. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  v(n: CstNode): any {
    return this.visit(n, n);
  }

  private error(code: Parameters<typeof diag>[0], message: string, loc: Loc): void {
    this.diagnostics.push(diag(code, message, this.file, loc));
  }

  spec(ctx: Ctx, n: CstNode): A.Spec {
    const decls: A.TopDecl[] = [];
    for (const name of ['modelDecl', 'loraDecl', 'trainDecl']) for (const d of nodes(ctx, name)) decls.push(this.v(d));
    decls.sort((a, b) => a.loc.line - b.loc.line || a.loc.col - b.loc.col);
    const loc = n.location && Number.isFinite(n.location.startLine) ? nodeLoc(n) : { line: 1, col: 1, endLine: 1, endCol: 1 };
    return { kind: 'Spec', decls, loc };
  }

  modelDecl(ctx: Ctx, n: CstNode): A.ModelDecl {
    const id = tok(ctx, 'Identifier')!;
    return {
      kind: 'Model',
      name: { name: id.image, loc: tokenLoc(id) },
      params: nodes(ctx, 'param').map((p) => this.v(p)),
      body: this.v(node(ctx, 'block')!),
      loc: nodeLoc(n),
    };
  }

  block(ctx: Ctx): A.Stmt[] {
    return nodes(ctx, 'statement').map((s) => this.v(s));
  }

  param(ctx: Ctx, n: CstNode): A.ParamDecl {
    const id = tok(ctx, 'Identifier')!;
    const typeTok = tok(ctx, 'IntType') ?? tok(ctx, 'FloatType') ?? tok(ctx, 'BoolType') ?? tok(ctx, 'StringType')!;
    const typeEnd = tok(ctx, 'Question') ?? tok(ctx, 'RBracket') ?? typeTok;
    const p: A.ParamDecl = {
      kind: 'Param', name: { name: id.image, loc: tokenLoc(id) }, type: typeTok.image as A.ParamType,
      list: tok(ctx, 'LBracket') !== undefined, optional: tok(ctx, 'Question') !== undefined,
      typeLoc: span(tokenLoc(typeTok), tokenLoc(typeEnd)), loc: nodeLoc(n),
    };
    const e = node(ctx, 'expr');
    if (e) p.default = this.v(e);
    return p;
  }

  statement(ctx: Ctx): A.Stmt {
    const child = (Object.entries(ctx).find(([k]) => k !== 'Semicolon')![1]![0]) as CstNode;
    return this.v(child);
  }

  configBlock(ctx: Ctx, n: CstNode): A.ConfigBlock {
    const block: A.ConfigBlock = { kind: 'Config', entries: [], refusals: [], ignored: [], loc: nodeLoc(n) };
    for (const e of nodes(ctx, 'configEntry')) {
      const c = e.children as Ctx;
      const strings = toks(c, 'StringLiteral').map((t) => this.string(t));
      if (tok(c, 'Refuse')) block.refusals.push({ keys: strings, unless: nodes(c, 'unaryExpr').map((x) => this.v(x)), loc: nodeLoc(e) });
      else if (tok(c, 'Ignore')) block.ignored.push(...strings);
      else {
        const id = tok(c, 'Identifier')!;
        block.entries.push({ param: { name: id.image, loc: tokenLoc(id) }, keys: strings, loc: nodeLoc(e) });
      }
    }
    return block;
  }

  inputStmt(ctx: Ctx, n: CstNode): A.InputStmt {
    const id = tok(ctx, 'Identifier')!;
    const s: A.InputStmt = { kind: 'Input', name: { name: id.image, loc: tokenLoc(id) }, loc: nodeLoc(n) };
    const e = node(ctx, 'expr');
    if (e) s.features = this.v(e);
    return s;
  }

  outputStmt(ctx: Ctx, n: CstNode): A.OutputStmt {
    const id = tok(ctx, 'Identifier')!;
    return { kind: 'Output', name: { name: id.image, loc: tokenLoc(id) }, loc: nodeLoc(n) };
  }

  defaultStmt(ctx: Ctx, n: CstNode): A.DefaultStmt {
    return { kind: 'Default', mark: tok(ctx, 'Frozen') ? 'frozen' : 'trainable', loc: nodeLoc(n) };
  }

  repeatStmt(ctx: Ctx, n: CstNode): A.RepeatStmt {
    const id = tok(ctx, 'Identifier')!;
    const [from, to] = nodes(ctx, 'expr');
    return { kind: 'Repeat', variable: { name: id.image, loc: tokenLoc(id) }, from: this.v(from!), to: this.v(to!), body: this.v(node(ctx, 'block')!), loc: nodeLoc(n) };
  }

  assignStmt(ctx: Ctx, n: CstNode): A.AssignStmt {
    return {
      kind: 'Assign',
      targets: toks(ctx, 'Identifier').map((t) => ({ name: t.image, loc: tokenLoc(t) })),
      value: this.v(node(ctx, 'expr')!),
      loc: nodeLoc(n),
    };
  }

  /** Folds `a op b op c` left to right; operands and operators interleave by source offset. */
  private chain(ctx: Ctx, operand: string, ops: string[]): A.Expr {
    const operands = nodes(ctx, operand).map((o) => this.v(o) as A.Expr);
    const opToks = ops.flatMap((o) => toks(ctx, o)).sort((a, b) => a.startOffset - b.startOffset);
    let left = operands[0]!;
    for (let i = 0; i < opToks.length && i + 1 < operands.length; i++) {
      const right = operands[i + 1]!;
      left = this.capped({ kind: 'Binary', op: opToks[i]!.image as A.BinaryOp, left, right, opLoc: tokenLoc(opToks[i]!), loc: span(left.loc, right.loc) }, [left, right]);
    }
    return left;
  }

  /** Records the depth of a new node; past MAX_EXPR_DEPTH reports E0106 once and cuts the tree. */
  private capped(e: A.Expr, children: A.Expr[]): A.Expr {
    const d = 1 + Math.max(0, ...children.map((c) => this.depth.get(c) ?? 1));
    if (d > MAX_EXPR_DEPTH) {
      const cut: A.Expr = { kind: 'None', loc: e.loc };
      if (!children.some((c) => this.depth.get(c) === -1)) this.error('E0106', `expression nested deeper than ${MAX_EXPR_DEPTH} levels`, e.loc);
      this.depth.set(cut, -1);
      return cut;
    }
    if (children.some((c) => this.depth.get(c) === -1)) {
      this.depth.set(e, -1);
      return e;
    }
    this.depth.set(e, d);
    return e;
  }

  expr(ctx: Ctx): A.Expr {
    return this.chain(ctx, 'andExpr', ['OrOr']);
  }
  andExpr(ctx: Ctx): A.Expr {
    return this.chain(ctx, 'cmpExpr', ['AndAnd']);
  }
  cmpExpr(ctx: Ctx): A.Expr {
    return this.chain(ctx, 'addExpr', ['EqEq', 'NotEq', 'LtEq', 'GtEq', 'Lt', 'Gt']);
  }
  addExpr(ctx: Ctx): A.Expr {
    return this.chain(ctx, 'mulExpr', ['Plus', 'Minus']);
  }
  mulExpr(ctx: Ctx): A.Expr {
    return this.chain(ctx, 'unaryExpr', ['Star', 'Slash', 'Percent']);
  }

  unaryExpr(ctx: Ctx): A.Expr {
    let e: A.Expr = this.v(node(ctx, 'primary')!);
    const ops = [...toks(ctx, 'Minus'), ...toks(ctx, 'Bang')].sort((a, b) => b.startOffset - a.startOffset);
    for (const op of ops) {
      // Fold `-5` into a literal so that the most negative numbers need no special case later.
      if (op.image === '-' && e.kind === 'Number' && this.depth.get(e) !== -1) e = { ...e, value: -e.value, loc: span(tokenLoc(op), e.loc) };
      else e = this.capped({ kind: 'Unary', op: op.image as A.UnaryOp, operand: e, loc: span(tokenLoc(op), e.loc) }, [e]);
    }
    return e;
  }

  primary(ctx: Ctx): A.Expr {
    const int = tok(ctx, 'IntLiteral');
    if (int) {
      const value = Number(int.image);
      if (!Number.isSafeInteger(value)) this.error('E0105', `integer ${int.image.length > 30 ? int.image.slice(0, 30) + '...' : int.image} is larger than 2^53 - 1`, tokenLoc(int));
      return { kind: 'Number', value: Number.isSafeInteger(value) ? value : 0, isInt: true, loc: tokenLoc(int) };
    }
    const flt = tok(ctx, 'FloatLiteral');
    if (flt) {
      const value = Number(flt.image);
      if (!Number.isFinite(value)) this.error('E0105', `number ${flt.image} is out of range`, tokenLoc(flt));
      return { kind: 'Number', value: Number.isFinite(value) ? value : 0, isInt: false, loc: tokenLoc(flt) };
    }
    const str = tok(ctx, 'StringLiteral');
    if (str) return this.string(str);
    const t = tok(ctx, 'True') ?? tok(ctx, 'False');
    if (t) return { kind: 'Bool', value: t.image === 'true', loc: tokenLoc(t) };
    const none = tok(ctx, 'None');
    if (none) return { kind: 'None', loc: tokenLoc(none) };
    const con = node(ctx, 'callOrName');
    if (con) return this.v(con);
    return this.v(node(ctx, 'expr')!);
  }

  callOrName(ctx: Ctx, n: CstNode): A.Expr {
    const id = tok(ctx, 'Identifier')!;
    const argList = node(ctx, 'argList');
    const index = node(ctx, 'expr');
    const name: A.NameRef = { kind: 'Name', name: id.image, loc: tokenLoc(id) };
    if (index) {
      const i: A.Expr = this.v(index);
      return this.capped({ kind: 'Index', target: name, index: i, loc: nodeLoc(n) }, [i]);
    }
    if (!argList) return name;
    const args: A.Arg[] = this.v(argList);
    const call: A.Call = { kind: 'Call', callee: { name: id.image, loc: tokenLoc(id) }, args, modifiers: nodes(ctx, 'modifier').map((m) => this.v(m)), loc: nodeLoc(n) };
    const mod = tok(ctx, 'StringLiteral');
    if (mod) call.module = this.string(mod);
    return this.capped(call, args.flatMap((a) => (a.to ? [a.value, a.to] : [a.value])));
  }

  modifier(ctx: Ctx, n: CstNode): A.Modifier {
    const loc = nodeLoc(n);
    if (tok(ctx, 'Frozen')) return { kind: 'Frozen', loc };
    if (tok(ctx, 'Trainable')) return { kind: 'Trainable', loc };
    if (tok(ctx, 'Lora')) {
      const al = node(ctx, 'argList');
      return { kind: 'Lora', args: al ? this.v(al) : [], loc };
    }
    const m: A.Modifier = { kind: 'Tied', target: this.string(tok(ctx, 'StringLiteral')!), loc };
    const w = node(ctx, 'unaryExpr');
    if (w) m.when = this.v(w);
    return m;
  }

  argList(ctx: Ctx): A.Arg[] {
    return nodes(ctx, 'arg').map((a) => this.v(a));
  }

  arg(ctx: Ctx, n: CstNode): A.Arg {
    const [v, to] = nodes(ctx, 'expr');
    const a: A.Arg = { value: this.v(v!), loc: nodeLoc(n) };
    const id = tok(ctx, 'Identifier');
    if (id) a.name = { name: id.image, loc: tokenLoc(id) };
    if (to) a.to = this.v(to);
    return a;
  }

  loraDecl(ctx: Ctx, n: CstNode): A.LoraDecl | A.LoraTrainableDecl {
    if (tok(ctx, 'Trainable')) return { kind: 'LoraTrainable', items: toks(ctx, 'StringLiteral').map((t) => this.string(t)), loc: nodeLoc(n) };
    let target: A.LoraTarget;
    const all = tok(ctx, 'AllLinear');
    const re = tok(ctx, 'Regex');
    const strs = toks(ctx, 'StringLiteral').map((t) => this.string(t));
    if (all) target = { kind: 'AllLinear', loc: tokenLoc(all) };
    else if (re) target = { kind: 'Regex', pattern: strs[0]!, loc: span(tokenLoc(re), strs[0]!.loc) };
    else {
      const lb = tok(ctx, 'LBracket')!;
      const rb = tok(ctx, 'RBracket')!;
      target = { kind: 'List', items: strs, loc: span(tokenLoc(lb), tokenLoc(rb)) };
    }
    const al = node(ctx, 'argList');
    return { kind: 'LoraDecl', target, args: al ? this.v(al) : [], overrides: nodes(ctx, 'loraOverride').map((o) => this.v(o)), loc: nodeLoc(n) };
  }

  loraOverride(ctx: Ctx, n: CstNode): A.LoraOverride {
    return { pattern: this.string(tok(ctx, 'StringLiteral')!), args: this.v(node(ctx, 'argList')!), loc: nodeLoc(n) };
  }

  trainDecl(ctx: Ctx, n: CstNode): A.TrainDecl {
    return { kind: 'Train', settings: nodes(ctx, 'trainSetting').map((s) => this.v(s)), loc: nodeLoc(n) };
  }

  trainSetting(ctx: Ctx, n: CstNode): A.TrainSetting {
    const id = tok(ctx, 'Identifier')!;
    return { name: { name: id.image, loc: tokenLoc(id) }, value: this.v(node(ctx, 'expr')!), loc: nodeLoc(n) };
  }

  /**
   * Unescapes a string token: \\ \" \n \t. Any other backslash pair is kept as written, so that
   * regular expressions (`regex "model\.layers\.\d+"`) need no doubled backslashes.
   */
  private string(t: IToken): A.StringLit {
    const raw = t.image;
    let value = '';
    for (let i = 1; i < raw.length - 1; i++) {
      const c = raw[i]!;
      if (c !== '\\') {
        value += c;
        continue;
      }
      const e = raw[++i]!;
      value += ESCAPES[e] ?? '\\' + e;
    }
    return { kind: 'String', value, raw, loc: tokenLoc(t) };
  }
}

export function cstToAst(cst: CstNode, file: string): { spec: A.Spec; diagnostics: Diagnostic[] } {
  const b = new AstBuilder(file);
  const spec = b.v(cst) as A.Spec;
  return { spec, diagnostics: b.diagnostics };
}
