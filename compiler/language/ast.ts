// The typed syntax tree of a spec, built from chevrotain's CST by cst-to-ast.ts. Every node carries
// its source span so that every later diagnostic can point at the exact text it is about.
import type { Loc } from './diagnostics.ts';

export type { Loc };

export interface Ident {
  name: string;
  loc: Loc;
}

export interface Spec {
  kind: 'Spec';
  decls: TopDecl[];
  loc: Loc;
}

export type TopDecl = ModelDecl | LoraDecl | LoraTrainableDecl | TrainDecl;

export type ParamType = 'int' | 'float' | 'bool' | 'string';

export interface ParamDecl {
  kind: 'Param';
  name: Ident;
  type: ParamType;
  /** `int[]`: a list of the type (bound from a JSON array). */
  list: boolean;
  /** `int?`: may be none (JSON null in the config binds none rather than falling through). */
  optional: boolean;
  typeLoc: Loc;
  default?: Expr;
  loc: Loc;
}

export interface ModelDecl {
  kind: 'Model';
  name: Ident;
  params: ParamDecl[];
  body: Stmt[];
  loc: Loc;
}

export type Stmt = ConfigBlock | InputStmt | OutputStmt | DefaultStmt | RepeatStmt | AssignStmt;

/**
 * `config { d = "hidden_size" | "n_embd"; refuse "attention_bias" unless false; ignore "use_cache" }`:
 * which config.json keys bind which parameter, which keys the spec refuses (unless absent, null or
 * one of the listed values) and which it reads and deliberately ignores.
 */
export interface ConfigBlock {
  kind: 'Config';
  entries: ConfigEntry[];
  refusals: ConfigRefusal[];
  ignored: StringLit[];
  loc: Loc;
}

/** `refuse "key", ... [unless v | v ...]`: the keys must be absent or null, or equal one of the values. */
export interface ConfigRefusal {
  keys: StringLit[];
  unless: Expr[];
  loc: Loc;
}

export interface ConfigEntry {
  param: Ident;
  /** Alternatives tried in order; a dotted key walks nested objects (`rope_parameters.rope_theta`). */
  keys: StringLit[];
  loc: Loc;
}

/** `input ids: tokens` ([B, T] token ids) or `input x: float[784]` ([B, T, 784] features). */
export interface InputStmt {
  kind: 'Input';
  name: Ident;
  features?: Expr;
  loc: Loc;
}

export interface OutputStmt {
  kind: 'Output';
  name: Ident;
  loc: Loc;
}

export interface DefaultStmt {
  kind: 'Default';
  mark: 'frozen' | 'trainable';
  loc: Loc;
}

export interface RepeatStmt {
  kind: 'Repeat';
  variable: Ident;
  from: Expr;
  to: Expr;
  body: Stmt[];
  loc: Loc;
}

export interface AssignStmt {
  kind: 'Assign';
  targets: Ident[];
  value: Expr;
  loc: Loc;
}

export type Expr = NumberLit | StringLit | BoolLit | NoneLit | NameRef | Index | Unary | Binary | Call;

/** `name[i]`: an item of a list parameter. */
export interface Index {
  kind: 'Index';
  target: NameRef;
  index: Expr;
  loc: Loc;
}

export interface NumberLit {
  kind: 'Number';
  value: number;
  isInt: boolean;
  loc: Loc;
}

export interface StringLit {
  kind: 'String';
  value: string;
  /** The token as written, quotes included; placeholders are located in it. */
  raw: string;
  loc: Loc;
}

export interface BoolLit {
  kind: 'Bool';
  value: boolean;
  loc: Loc;
}

export interface NoneLit {
  kind: 'None';
  loc: Loc;
}

export interface NameRef {
  kind: 'Name';
  name: string;
  loc: Loc;
}

export type UnaryOp = '-' | '!';
export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||';

export interface Unary {
  kind: 'Unary';
  op: UnaryOp;
  operand: Expr;
  loc: Loc;
}

export interface Binary {
  kind: 'Binary';
  op: BinaryOp;
  left: Expr;
  right: Expr;
  opLoc: Loc;
  loc: Loc;
}

export interface Arg {
  /** Set for `name = value`. */
  name?: Ident;
  value: Expr;
  /** Set for `in -> out` (linear dimensions). */
  to?: Expr;
  loc: Loc;
}

export type Modifier =
  | { kind: 'Frozen'; loc: Loc }
  | { kind: 'Trainable'; loc: Loc }
  | { kind: 'Lora'; args: Arg[]; loc: Loc }
  | { kind: 'Tied'; target: StringLit; when?: Expr; loc: Loc };

/** A function or layer call; `as "module"` and modifiers only make sense on layers (checked). */
export interface Call {
  kind: 'Call';
  callee: Ident;
  args: Arg[];
  module?: StringLit;
  modifiers: Modifier[];
  loc: Loc;
}

export type LoraTarget =
  | { kind: 'List'; items: StringLit[]; loc: Loc }
  | { kind: 'AllLinear'; loc: Loc }
  | { kind: 'Regex'; pattern: StringLit; loc: Loc };

export interface LoraOverride {
  pattern: StringLit;
  args: Arg[];
  loc: Loc;
}

/** `lora targets ["q_proj", "v_proj"] (rank = 8, alpha = 16) { override "..." (rank = 4) }`. */
export interface LoraDecl {
  kind: 'LoraDecl';
  target: LoraTarget;
  args: Arg[];
  overrides: LoraOverride[];
  loc: Loc;
}

/** `lora trainable ["lm_head"]`: modules trained in full with the adapters (PEFT's modules_to_save). */
export interface LoraTrainableDecl {
  kind: 'LoraTrainable';
  items: StringLit[];
  loc: Loc;
}

export interface TrainSetting {
  name: Ident;
  value: Expr;
  loc: Loc;
}

export interface TrainDecl {
  kind: 'Train';
  settings: TrainSetting[];
  loc: Loc;
}
