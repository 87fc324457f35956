// Every token of the `.rf` spec language, in the order the lexer tries them. Order matters:
// comments and whitespace first, keywords before Identifier (each keyword names Identifier as its
// longer_alt so `inputs` stays one identifier), floats before ints, longer punctuation before
// shorter (`..` before `.`, `->` before `-`, `<=` before `<`).
import { createToken, Lexer, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED });
export const LineComment = createToken({ name: 'LineComment', pattern: /\/\/[^\n]*/, group: Lexer.SKIPPED });
export const BlockComment = createToken({ name: 'BlockComment', pattern: /\/\*[\s\S]*?\*\//, group: Lexer.SKIPPED });
// An unclosed `/*` runs to the end of the file; it is lexed as its own token so that the front end
// reports it once (E0103) instead of one "unexpected character" per byte.
export const UnterminatedComment = createToken({ name: 'UnterminatedComment', pattern: /\/\*[\s\S]*/ });

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

function keyword(word: string, name: string): TokenType {
  return createToken({ name, pattern: new RegExp(word), longer_alt: Identifier, label: `'${word}'` });
}

export const Model = keyword('model', 'Model');
export const Config = keyword('config', 'Config');
export const Input = keyword('input', 'Input');
export const Output = keyword('output', 'Output');
export const Default = keyword('default', 'Default');
export const Repeat = keyword('repeat', 'Repeat');
export const In = keyword('in', 'In');
export const Frozen = keyword('frozen', 'Frozen');
export const Trainable = keyword('trainable', 'Trainable');
export const Lora = keyword('lora', 'Lora');
export const Targets = keyword('targets', 'Targets');
export const Override = keyword('override', 'Override');
export const Train = keyword('train', 'Train');
export const Tied = keyword('tied', 'Tied');
export const When = keyword('when', 'When');
export const As = keyword('as', 'As');
export const True = keyword('true', 'True');
export const False = keyword('false', 'False');
export const None = keyword('none', 'None');
export const Tokens = keyword('tokens', 'Tokens');
export const Regex = keyword('regex', 'Regex');
export const Refuse = keyword('refuse', 'Refuse');
export const Ignore = keyword('ignore', 'Ignore');
export const Unless = keyword('unless', 'Unless');
export const IntType = keyword('int', 'IntType');
export const FloatType = keyword('float', 'FloatType');
export const BoolType = keyword('bool', 'BoolType');
export const StringType = keyword('string', 'StringType');
// PEFT's spelling, hyphen included; the lookahead keeps `all-linearity` from matching.
export const AllLinear = createToken({ name: 'AllLinear', pattern: /all-linear(?![A-Za-z0-9_])/, label: "'all-linear'" });

export const FloatLiteral = createToken({
  name: 'FloatLiteral',
  pattern: /(?:\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)(?![A-Za-z0-9_])/,
  label: 'number',
});
export const IntLiteral = createToken({ name: 'IntLiteral', pattern: /\d+(?![A-Za-z0-9_])/, label: 'integer' });
export const StringLiteral = createToken({ name: 'StringLiteral', pattern: /"(?:[^"\\\n]|\\[^\n])*"/, label: 'string' });
// A string that reaches the end of its line without a closing quote; reported as E0102.
export const UnterminatedString = createToken({ name: 'UnterminatedString', pattern: /"(?:[^"\\\n]|\\[^\n])*\\?/ });

export const Arrow = createToken({ name: 'Arrow', pattern: /->/, label: "'->'" });
export const DotDot = createToken({ name: 'DotDot', pattern: /\.\./, label: "'..'" });
export const EqEq = createToken({ name: 'EqEq', pattern: /==/, label: "'=='" });
export const NotEq = createToken({ name: 'NotEq', pattern: /!=/, label: "'!='" });
export const LtEq = createToken({ name: 'LtEq', pattern: /<=/, label: "'<='" });
export const GtEq = createToken({ name: 'GtEq', pattern: />=/, label: "'>='" });
export const AndAnd = createToken({ name: 'AndAnd', pattern: /&&/, label: "'&&'" });
export const OrOr = createToken({ name: 'OrOr', pattern: /\|\|/, label: "'||'" });
export const Lt = createToken({ name: 'Lt', pattern: /</, label: "'<'" });
export const Gt = createToken({ name: 'Gt', pattern: />/, label: "'>'" });
export const Bang = createToken({ name: 'Bang', pattern: /!/, label: "'!'" });
export const Pipe = createToken({ name: 'Pipe', pattern: /\|/, label: "'|'" });
export const Equals = createToken({ name: 'Equals', pattern: /=/, label: "'='" });
export const Plus = createToken({ name: 'Plus', pattern: /\+/, label: "'+'" });
export const Minus = createToken({ name: 'Minus', pattern: /-/, label: "'-'" });
export const Star = createToken({ name: 'Star', pattern: /\*/, label: "'*'" });
export const Slash = createToken({ name: 'Slash', pattern: /\//, label: "'/'" });
export const Percent = createToken({ name: 'Percent', pattern: /%/, label: "'%'" });
export const LParen = createToken({ name: 'LParen', pattern: /\(/, label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, label: "')'" });
export const LBrace = createToken({ name: 'LBrace', pattern: /\{/, label: "'{'" });
export const RBrace = createToken({ name: 'RBrace', pattern: /\}/, label: "'}'" });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/, label: "'['" });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/, label: "']'" });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: "','" });
export const Colon = createToken({ name: 'Colon', pattern: /:/, label: "':'" });
export const Semicolon = createToken({ name: 'Semicolon', pattern: /;/, label: "';'" });
export const Question = createToken({ name: 'Question', pattern: /\?/, label: "'?'" });

export const keywords: TokenType[] = [
  Model, Config, Input, Output, Default, Repeat, In, Frozen, Trainable, Lora, Targets, Override, Train,
  Tied, When, As, True, False, None, Tokens, Regex, IntType, FloatType, BoolType, StringType, Refuse, Ignore, Unless,
];

export const allTokens: TokenType[] = [
  WhiteSpace, LineComment, BlockComment, UnterminatedComment,
  // Longest keyword first, so that `in` cannot shadow `int` or `input`.
  AllLinear, ...[...keywords].sort((a, b) => String(b.PATTERN).length - String(a.PATTERN).length), Identifier,
  FloatLiteral, IntLiteral, StringLiteral, UnterminatedString,
  Arrow, DotDot, EqEq, NotEq, LtEq, GtEq, AndAnd, OrOr, Lt, Gt, Bang, Pipe, Equals,
  Plus, Minus, Star, Slash, Percent, LParen, RParen, LBrace, RBrace, LBracket, RBracket,
  Comma, Colon, Semicolon, Question,
];

// One lexer for the process: building it validates every pattern, which is too slow to repeat.
export const specLexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });
