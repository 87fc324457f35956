// The spec grammar as a chevrotain CstParser (spec/language.md has the same grammar in EBNF).
// One instance is built per process and reused: construction runs grammar analysis, which is slow.
// Recovery is on so one run reports several syntax errors; repetition uses MANY loops rather than
// recursion so long statement lists and operator chains cannot overflow the stack.
import { CstParser, EOF, tokenLabel, type CstNode, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';
import { quote } from './diagnostics.ts';
import * as T from './tokens.ts';

const EXPRESSION_RULES = new Set(['expr', 'andExpr', 'cmpExpr', 'addExpr', 'mulExpr', 'unaryExpr', 'primary']);

export function describeToken(t: IToken | undefined): string {
  if (!t || t.tokenType === EOF) return 'end of file';
  return quote(t.image, 30);
}

function labels(types: TokenType[]): string {
  const seen = [...new Set(types.map((t) => (t === T.Identifier ? 'a name' : tokenLabel(t))))];
  if (seen.length > 6) return `one of ${seen.slice(0, 6).join(', ')}, ...`;
  return seen.length === 1 ? seen[0]! : `one of ${seen.join(', ')}`;
}

// Messages in the project's words: "expected X but found Y", naming the end of file plainly.
const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) =>
    expected === EOF
      ? `unexpected ${describeToken(actual)}; expected 'model', 'lora targets', 'lora trainable' or 'train' at the top level`
      : `expected ${labels([expected])} but found ${describeToken(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) =>
    `unexpected ${describeToken(firstRedundant)}; expected 'model', 'lora targets', 'lora trainable' or 'train' at the top level`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual, ruleName }) => {
    if (EXPRESSION_RULES.has(ruleName)) return `expected an expression but found ${describeToken(actual[0])}`;
    const firsts = expectedPathsPerAlt.flatMap((alt) => alt.map((path) => path[0]).filter((t): t is TokenType => !!t));
    if (ruleName === 'statement') return `expected a statement (name = ..., repeat, input, output, config, default) but found ${describeToken(actual[0])}`;
    return `expected ${labels(firsts)} but found ${describeToken(actual[0])}`;
  },
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) =>
    `expected ${labels(expectedIterationPaths.map((p) => p[0]).filter((t): t is TokenType => !!t))} but found ${describeToken(actual[0])}`,
};

class SpecParser extends CstParser {
  constructor() {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 3, nodeLocationTracking: 'full', errorMessageProvider });
    this.performSelfAnalysis();
  }

  spec = this.RULE('spec', () => {
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.modelDecl) },
        { ALT: () => this.SUBRULE(this.loraDecl) },
        { ALT: () => this.SUBRULE(this.trainDecl) },
      ]),
    );
  });

  modelDecl = this.RULE('modelDecl', () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => {
        this.SUBRULE(this.param);
        this.MANY({
          GATE: () => this.LA(2).tokenType !== T.RParen,
          DEF: () => {
            this.CONSUME(T.Comma);
            this.SUBRULE2(this.param);
          },
        });
        this.OPTION3(() => this.CONSUME2(T.Comma));
      });
      this.CONSUME(T.RParen);
    });
    this.SUBRULE(this.block);
  });

  block = this.RULE('block', () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.statement));
    this.CONSUME(T.RBrace);
  });

  param = this.RULE('param', () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.OR([
      { ALT: () => this.CONSUME(T.IntType) },
      { ALT: () => this.CONSUME(T.FloatType) },
      { ALT: () => this.CONSUME(T.BoolType) },
      { ALT: () => this.CONSUME(T.StringType) },
    ]);
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.CONSUME(T.RBracket);
    });
    this.OPTION2(() => this.CONSUME(T.Question));
    this.OPTION3(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expr);
    });
  });

  statement = this.RULE('statement', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.configBlock) },
      { ALT: () => this.SUBRULE(this.inputStmt) },
      { ALT: () => this.SUBRULE(this.outputStmt) },
      { ALT: () => this.SUBRULE(this.defaultStmt) },
      { ALT: () => this.SUBRULE(this.repeatStmt) },
      { ALT: () => this.SUBRULE(this.assignStmt) },
    ]);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  configBlock = this.RULE('configBlock', () => {
    this.CONSUME(T.Config);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.configEntry));
    this.CONSUME(T.RBrace);
  });

  configEntry = this.RULE('configEntry', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Identifier);
          this.CONSUME(T.Equals);
          this.CONSUME(T.StringLiteral);
          this.MANY(() => {
            this.CONSUME(T.Pipe);
            this.CONSUME2(T.StringLiteral);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Refuse);
          this.CONSUME3(T.StringLiteral);
          this.MANY2(() => {
            this.CONSUME(T.Comma);
            this.CONSUME4(T.StringLiteral);
          });
          this.OPTION(() => {
            this.CONSUME(T.Unless);
            this.SUBRULE(this.unaryExpr);
            this.MANY3(() => {
              this.CONSUME2(T.Pipe);
              this.SUBRULE2(this.unaryExpr);
            });
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Ignore);
          this.CONSUME5(T.StringLiteral);
          this.MANY4(() => {
            this.CONSUME2(T.Comma);
            this.CONSUME6(T.StringLiteral);
          });
        },
      },
    ]);
    this.OPTION2(() => this.CONSUME(T.Semicolon));
  });

  inputStmt = this.RULE('inputStmt', () => {
    this.CONSUME(T.Input);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.OR([
      { ALT: () => this.CONSUME(T.Tokens) },
      {
        ALT: () => {
          this.CONSUME(T.FloatType);
          this.CONSUME(T.LBracket);
          this.SUBRULE(this.expr);
          this.CONSUME(T.RBracket);
        },
      },
    ]);
  });

  outputStmt = this.RULE('outputStmt', () => {
    this.CONSUME(T.Output);
    this.CONSUME(T.Identifier);
  });

  defaultStmt = this.RULE('defaultStmt', () => {
    this.CONSUME(T.Default);
    this.OR([{ ALT: () => this.CONSUME(T.Frozen) }, { ALT: () => this.CONSUME(T.Trainable) }]);
  });

  repeatStmt = this.RULE('repeatStmt', () => {
    this.CONSUME(T.Repeat);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.In);
    this.SUBRULE(this.expr);
    this.CONSUME(T.DotDot);
    this.SUBRULE2(this.expr);
    this.SUBRULE(this.block);
  });

  assignStmt = this.RULE('assignStmt', () => {
    this.CONSUME(T.Identifier);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.CONSUME2(T.Identifier);
    });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  expr = this.RULE('expr', () => {
    this.SUBRULE(this.andExpr);
    this.MANY(() => {
      this.CONSUME(T.OrOr);
      this.SUBRULE2(this.andExpr);
    });
  });

  andExpr = this.RULE('andExpr', () => {
    this.SUBRULE(this.cmpExpr);
    this.MANY(() => {
      this.CONSUME(T.AndAnd);
      this.SUBRULE2(this.cmpExpr);
    });
  });

  cmpExpr = this.RULE('cmpExpr', () => {
    this.SUBRULE(this.addExpr);
    this.OPTION(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.EqEq) },
        { ALT: () => this.CONSUME(T.NotEq) },
        { ALT: () => this.CONSUME(T.LtEq) },
        { ALT: () => this.CONSUME(T.GtEq) },
        { ALT: () => this.CONSUME(T.Lt) },
        { ALT: () => this.CONSUME(T.Gt) },
      ]);
      this.SUBRULE2(this.addExpr);
    });
  });

  addExpr = this.RULE('addExpr', () => {
    this.SUBRULE(this.mulExpr);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.mulExpr);
    });
  });

  mulExpr = this.RULE('mulExpr', () => {
    this.SUBRULE(this.unaryExpr);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star) },
        { ALT: () => this.CONSUME(T.Slash) },
        { ALT: () => this.CONSUME(T.Percent) },
      ]);
      this.SUBRULE2(this.unaryExpr);
    });
  });

  unaryExpr = this.RULE('unaryExpr', () => {
    this.MANY(() => this.OR([{ ALT: () => this.CONSUME(T.Minus) }, { ALT: () => this.CONSUME(T.Bang) }]));
    this.SUBRULE(this.primary);
  });

  primary = this.RULE('primary', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.IntLiteral) },
      { ALT: () => this.CONSUME(T.FloatLiteral) },
      { ALT: () => this.CONSUME(T.StringLiteral) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.None) },
      { ALT: () => this.SUBRULE(this.callOrName) },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE(this.expr);
          this.CONSUME(T.RParen);
        },
      },
    ]);
  });

  callOrName = this.RULE('callOrName', () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() =>
      this.OR([
        {
          ALT: () => {
            this.SUBRULE(this.argList);
            this.OPTION2(() => {
              this.CONSUME(T.As);
              this.CONSUME(T.StringLiteral);
            });
            this.MANY(() => this.SUBRULE(this.modifier));
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.LBracket);
            this.SUBRULE(this.expr);
            this.CONSUME(T.RBracket);
          },
        },
      ]),
    );
  });

  modifier = this.RULE('modifier', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Frozen) },
      { ALT: () => this.CONSUME(T.Trainable) },
      {
        ALT: () => {
          this.CONSUME(T.Lora);
          this.OPTION(() => this.SUBRULE(this.argList));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Tied);
          this.CONSUME(T.StringLiteral);
          this.OPTION2(() => {
            this.CONSUME(T.When);
            this.SUBRULE(this.unaryExpr);
          });
        },
      },
    ]);
  });

  argList = this.RULE('argList', () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.arg);
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RParen,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.arg);
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
  });

  arg = this.RULE('arg', () => {
    this.OPTION(() => {
      this.CONSUME(T.Identifier);
      this.CONSUME(T.Equals);
    });
    this.SUBRULE(this.expr);
    this.OPTION2(() => {
      this.CONSUME(T.Arrow);
      this.SUBRULE2(this.expr);
    });
  });

  loraDecl = this.RULE('loraDecl', () => {
    this.CONSUME(T.Lora);
    this.OR4([
      {
        ALT: () => {
          this.CONSUME(T.Targets);
          this.OR([
            {
              ALT: () => {
                this.CONSUME(T.LBracket);
                this.CONSUME(T.StringLiteral);
                this.MANY({
                  GATE: () => this.LA(2).tokenType !== T.RBracket,
                  DEF: () => {
                    this.CONSUME(T.Comma);
                    this.CONSUME2(T.StringLiteral);
                  },
                });
                this.OPTION(() => this.CONSUME2(T.Comma));
                this.CONSUME(T.RBracket);
              },
            },
            { ALT: () => this.CONSUME(T.AllLinear) },
            {
              ALT: () => {
                this.CONSUME(T.Regex);
                this.CONSUME3(T.StringLiteral);
              },
            },
          ]);
          this.OPTION2(() => this.SUBRULE(this.argList));
          this.OPTION3(() => {
            this.CONSUME(T.LBrace);
            this.MANY2(() => this.SUBRULE(this.loraOverride));
            this.CONSUME(T.RBrace);
          });
        },
      },
      {
        // `lora trainable ["lm_head"]`: PEFT's modules_to_save.
        ALT: () => {
          this.CONSUME(T.Trainable);
          this.CONSUME2(T.LBracket);
          this.CONSUME4(T.StringLiteral);
          this.MANY3({
            GATE: () => this.LA(2).tokenType !== T.RBracket,
            DEF: () => {
              this.CONSUME3(T.Comma);
              this.CONSUME5(T.StringLiteral);
            },
          });
          this.OPTION4(() => this.CONSUME4(T.Comma));
          this.CONSUME2(T.RBracket);
        },
      },
    ]);
  });

  loraOverride = this.RULE('loraOverride', () => {
    this.CONSUME(T.Override);
    this.CONSUME(T.StringLiteral);
    this.SUBRULE(this.argList);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  trainDecl = this.RULE('trainDecl', () => {
    this.CONSUME(T.Train);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.trainSetting));
    this.CONSUME(T.RBrace);
  });

  trainSetting = this.RULE('trainSetting', () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });
}

export const specParser = new SpecParser();

/** Parses a token vector; errors land in specParser.errors (read them before the next call). */
export function parseTokens(tokens: IToken[]): CstNode {
  specParser.input = tokens;
  return specParser.spec();
}
