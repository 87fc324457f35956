// Python `re` patterns (the dialect of PEFT's target_modules, exclude_modules, rank_pattern, ...)
// matched in bounded time. PEFT calls re.fullmatch / re.match on module names with patterns that
// come from adapter_config.json files, i.e. from strangers; a backtracking engine (JavaScript's
// RegExp, Python's re) takes exponential time on patterns like `(a+)+$`. This one compiles the
// pattern to a Thompson NFA and runs it as a Pike VM: time O(len(name) · program size), with the
// program size capped, and captures with Python's leftmost-first priorities (greedy and lazy
// quantifiers pick the same groups as re does). Constructs that need backtracking by nature
// (backreferences, lookaround, atomic groups, possessive quantifiers, conditionals) and inline
// flags are refused with a message naming them. Pure: no Node APIs.

export class PyRegexError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
    this.name = 'PyRegexError';
  }
}

/** Longest pattern accepted (characters). */
export const MAX_PATTERN_LENGTH = 4096;
/** Largest compiled program (instructions); `x{1000}{1000}` and friends stop here. */
export const MAX_PROGRAM_SIZE = 20000;

// ---------------------------------------------------------------------------------------------
// Character sets

type ClassName = 'd' | 'D' | 'w' | 'W' | 's' | 'S';

interface CharSet {
  ranges: [number, number][];
  classes: ClassName[];
  negate: boolean;
}

const NEWLINE = 10;
// ASCII first: module names are ASCII, and the Unicode tests allocate.
const isDigit = (c: number) => (c < 128 ? c >= 48 && c <= 57 : /\p{Nd}/u.test(String.fromCodePoint(c)));
// Python's \w for str patterns: alphanumerics (str.isalnum) and '_'.
const isWord = (c: number) =>
  c < 128 ? c === 95 || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) : /[\p{L}\p{N}]/u.test(String.fromCodePoint(c));
// Python's str whitespace (Py_UNICODE_ISSPACE) adds the separators 0x1c-0x1f and NEL to \s.
const isSpace = (c: number) => (c >= 0x1c && c <= 0x1f) || c === 0x85 || (c !== 0xfeff && /\s/u.test(String.fromCodePoint(c)));

function classTest(name: ClassName, c: number): boolean {
  switch (name) {
    case 'd':
      return isDigit(c);
    case 'D':
      return !isDigit(c);
    case 'w':
      return isWord(c);
    case 'W':
      return !isWord(c);
    case 's':
      return isSpace(c);
    case 'S':
      return !isSpace(c);
  }
}

function setTest(set: CharSet): (c: number) => boolean {
  const { ranges, classes, negate } = set;
  return (c) => {
    let hit = false;
    for (const [lo, hi] of ranges) if (c >= lo && c <= hi) hit = true;
    if (!hit) for (const k of classes) if (classTest(k, c)) hit = true;
    return hit !== negate;
  };
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

type AssertKind = 'start' | 'end' | 'endOnly' | 'wordBoundary' | 'notWordBoundary';

type Node =
  | { t: 'char'; test: (c: number) => boolean }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'group'; index: number | null; body: Node }
  | { t: 'repeat'; body: Node; min: number; max: number; lazy: boolean }
  | { t: 'assert'; kind: AssertKind };

const ANY_BUT_NEWLINE = (c: number) => c !== NEWLINE;
const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };

class Parser {
  private pos = 0;
  groups = 0;
  private readonly names = new Set<string>();

  constructor(private readonly src: string) {}

  private fail(message: string, at = this.pos): never {
    throw new PyRegexError(`${message} at position ${at}`, at);
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private eat(s: string): boolean {
    if (this.src.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  /** One code point (patterns may hold astral characters). */
  private next(): number {
    const c = this.src.codePointAt(this.pos)!;
    this.pos += c > 0xffff ? 2 : 1;
    return c;
  }

  parse(): Node {
    const node = this.alternation();
    if (this.pos < this.src.length) {
      // Only an unbalanced ')' stops the top-level alternation early.
      this.fail('unbalanced parenthesis');
    }
    return node;
  }

  private alternation(): Node {
    const alts = [this.sequence()];
    while (this.eat('|')) alts.push(this.sequence());
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      const start = this.pos;
      const atom = this.atom();
      if (atom === null) continue; // a comment group
      items.push(this.quantified(atom, start));
    }
    return items.length === 1 ? items[0]! : { t: 'seq', items };
  }

  /** Reads `{m,n}` after the '{' if it is a valid quantifier; otherwise restores and returns undefined. */
  private braces(): { min: number; max: number } | undefined {
    const here = this.pos;
    if (!this.eat('{')) return undefined;
    const digits = () => {
      const s = this.pos;
      while (/[0-9]/.test(this.peek() ?? '')) this.pos++;
      return this.src.slice(s, this.pos);
    };
    if (this.peek() === '}') {
      this.pos = here;
      return undefined;
    }
    const lo = digits();
    const hi = this.eat(',') ? digits() : lo;
    if (!this.eat('}')) {
      this.pos = here;
      return undefined;
    }
    const min = lo ? Number(lo) : 0;
    const max = hi ? Number(hi) : Infinity;
    if (max < min) this.fail('min repeat greater than max repeat', here + 1);
    return { min, max };
  }

  private quantified(atom: Node, start: number): Node {
    let node = atom;
    let quantified = false;
    for (;;) {
      const at = this.pos;
      let q: { min: number; max: number } | undefined;
      const c = this.peek();
      if (c === '*') q = { min: 0, max: Infinity };
      else if (c === '+') q = { min: 1, max: Infinity };
      else if (c === '?') q = { min: 0, max: 1 };
      if (q) this.pos++;
      else q = this.braces();
      if (!q) return node;
      if (node.t === 'assert') this.fail('nothing to repeat', start);
      if (quantified) this.fail('multiple repeat', at);
      let lazy = false;
      if (this.eat('?')) lazy = true;
      else if (this.peek() === '+') this.fail('possessive quantifiers are not supported (they need backtracking)');
      node = { t: 'repeat', body: node, min: q.min, max: q.max, lazy };
      quantified = true;
    }
  }

  private atom(): Node | null {
    const at = this.pos;
    const c = this.peek()!;
    if (c === '*' || c === '+' || c === '?') this.fail('nothing to repeat');
    if (c === '{' && this.braces()) this.fail('nothing to repeat', at);
    if (c === '(') return this.group();
    if (c === '[') return this.charClass();
    if (c === '.') {
      this.pos++;
      return { t: 'char', test: ANY_BUT_NEWLINE };
    }
    if (c === '^') {
      this.pos++;
      return { t: 'assert', kind: 'start' };
    }
    if (c === '$') {
      this.pos++;
      return { t: 'assert', kind: 'end' };
    }
    if (c === '\\') return this.escape();
    const code = this.next();
    return { t: 'char', test: (x) => x === code };
  }

  private group(): Node | null {
    const at = this.pos;
    this.pos++; // '('
    let index: number | null = null;
    if (this.eat('?')) {
      if (this.eat(':')) index = null;
      else if (this.eat('P<')) {
        const end = this.src.indexOf('>', this.pos);
        const name = end < 0 ? '' : this.src.slice(this.pos, end);
        if (end < 0) this.fail('missing >, unterminated name');
        if (!/^[^\d\W]\w*$/u.test(name)) this.fail(`bad character in group name '${name}'`);
        if (this.names.has(name)) this.fail(`redefinition of group name '${name}'`);
        this.names.add(name);
        this.pos = end + 1;
        index = ++this.groups;
      } else if (this.eat('#')) {
        const end = this.src.indexOf(')', this.pos);
        if (end < 0) this.fail('missing ), unterminated comment', at);
        this.pos = end + 1;
        return null;
      } else if (this.src.startsWith('P=', this.pos)) this.fail('backreferences are not supported (they need backtracking)', at);
      else if (/^(=|!|<=|<!)/.test(this.src.slice(this.pos))) this.fail('lookahead and lookbehind are not supported (they need backtracking)', at);
      else if (this.peek() === '>') this.fail('atomic groups are not supported (they need backtracking)', at);
      else if (this.peek() === '(') this.fail('conditional groups are not supported (they need backtracking)', at);
      else if (/^[aiLmsux-]/.test(this.src.slice(this.pos))) this.fail('inline flags such as (?i) are not supported', at);
      else this.fail(`unknown extension ?${this.peek() ?? ''}`, at);
    } else index = ++this.groups;
    const body = this.alternation();
    if (!this.eat(')')) this.fail('missing ), unterminated subpattern', at);
    return { t: 'group', index, body };
  }

  private hex(digits: number, what: string, at: number): number {
    const s = this.src.slice(this.pos, this.pos + digits);
    if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(s)) this.fail(`incomplete escape ${what}${s}`, at);
    this.pos += digits;
    const v = parseInt(s, 16);
    if (v > 0x10ffff) this.fail(`bad escape ${what}${s}`, at);
    return v;
  }

  /** An escape's code point, or a class name, for both contexts; anchors are handled by the caller. */
  private escapeValue(inClass: boolean): number | ClassName {
    const at = this.pos;
    this.pos++; // '\\'
    if (this.pos >= this.src.length) this.fail('bad escape (end of pattern)', at);
    const c = this.src[this.pos]!;
    if ('dDwWsS'.includes(c)) {
      this.pos++;
      return c as ClassName;
    }
    if (c === 'x') {
      this.pos++;
      return this.hex(2, '\\x', at);
    }
    if (c === 'u') {
      this.pos++;
      return this.hex(4, '\\u', at);
    }
    if (c === 'U') {
      this.pos++;
      return this.hex(8, '\\U', at);
    }
    if (c === '0') {
      // Octal: \0 followed by up to two octal digits.
      let s = '';
      this.pos++;
      while (s.length < 2 && /[0-7]/.test(this.peek() ?? '')) s += this.src[this.pos++];
      return parseInt(s || '0', 8);
    }
    if (/[1-9]/.test(c)) {
      if (inClass) {
        const m = /^[0-7]{3}/.exec(this.src.slice(this.pos));
        if (m) {
          this.pos += 3;
          return parseInt(m[0], 8);
        }
        this.fail(`bad escape \\${c}`, at);
      }
      this.fail('backreferences are not supported (they need backtracking)', at);
    }
    if (c in SIMPLE_ESCAPES && (c !== 'b' || inClass)) {
      this.pos++;
      return SIMPLE_ESCAPES[c]!;
    }
    if (c === 'N') this.fail('named Unicode escapes \\N{...} are not supported', at);
    if (/[A-Za-z]/.test(c)) this.fail(`bad escape \\${c}`, at);
    return this.next();
  }

  private escape(): Node {
    const c = this.src[this.pos + 1];
    const anchors: Record<string, AssertKind> = { A: 'start', Z: 'endOnly', b: 'wordBoundary', B: 'notWordBoundary' };
    if (c !== undefined && c in anchors) {
      this.pos += 2;
      return { t: 'assert', kind: anchors[c]! };
    }
    const v = this.escapeValue(false);
    if (typeof v === 'string') return { t: 'char', test: setTest({ ranges: [], classes: [v], negate: false }) };
    return { t: 'char', test: (x) => x === v };
  }

  private charClass(): Node {
    const at = this.pos;
    this.pos++; // '['
    const set: CharSet = { ranges: [], classes: [], negate: this.eat('^') };
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) this.fail('unterminated character set', at);
      const c = this.peek()!;
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      const itemAt = this.pos;
      const lo = c === '\\' ? this.escapeValue(true) : this.next();
      if (this.peek() === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length) {
        this.pos++; // '-'
        const hi = this.peek() === '\\' ? this.escapeValue(true) : this.next();
        if (typeof lo === 'string' || typeof hi === 'string' || hi < lo) this.fail(`bad character range ${this.src.slice(itemAt, this.pos)}`, itemAt);
        set.ranges.push([lo, hi]);
        continue;
      }
      if (typeof lo === 'string') set.classes.push(lo);
      else set.ranges.push([lo, lo]);
    }
    return { t: 'char', test: setTest(set) };
  }
}

// ---------------------------------------------------------------------------------------------
// Program

type Inst =
  | { op: 'char'; test: (c: number) => boolean }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; x: number }
  | { op: 'save'; slot: number }
  | { op: 'assert'; kind: AssertKind }
  | { op: 'match' };

class Compiler {
  readonly prog: Inst[] = [];

  private emit(inst: Inst): number {
    if (this.prog.length >= MAX_PROGRAM_SIZE) {
      throw new PyRegexError(`pattern too complex (over ${MAX_PROGRAM_SIZE} instructions once repetitions are expanded)`, 0);
    }
    this.prog.push(inst);
    return this.prog.length - 1;
  }

  compile(node: Node): void {
    switch (node.t) {
      case 'char':
        this.emit({ op: 'char', test: node.test });
        return;
      case 'assert':
        this.emit({ op: 'assert', kind: node.kind });
        return;
      case 'seq':
        for (const n of node.items) this.compile(n);
        return;
      case 'group':
        if (node.index !== null) this.emit({ op: 'save', slot: 2 * node.index });
        this.compile(node.body);
        if (node.index !== null) this.emit({ op: 'save', slot: 2 * node.index + 1 });
        return;
      case 'alt': {
        const jumps: number[] = [];
        node.alts.forEach((alt, i) => {
          if (i < node.alts.length - 1) {
            const split = this.emit({ op: 'split', x: 0, y: 0 });
            (this.prog[split] as { x: number }).x = split + 1;
            this.compile(alt);
            jumps.push(this.emit({ op: 'jmp', x: 0 }));
            (this.prog[split] as { y: number }).y = this.prog.length;
          } else this.compile(alt);
        });
        for (const j of jumps) (this.prog[j] as { x: number }).x = this.prog.length;
        return;
      }
      case 'repeat':
        this.repeat(node);
        return;
    }
  }

  /** A split that prefers `first` when greedy and `second` when lazy. */
  private split(greedy: boolean, first: number, second: number): Inst {
    return greedy ? { op: 'split', x: first, y: second } : { op: 'split', x: second, y: first };
  }

  private repeat(node: Extract<Node, { t: 'repeat' }>): void {
    const greedy = !node.lazy;
    for (let i = 0; i < node.min; i++) this.compile(node.body);
    if (node.max === Infinity) {
      // L: split(body, out); body; jmp L
      const loop = this.emit({ op: 'split', x: 0, y: 0 });
      this.compile(node.body);
      this.emit({ op: 'jmp', x: loop });
      this.prog[loop] = this.split(greedy, loop + 1, this.prog.length);
      return;
    }
    // (body (body (...)?)?)? for the optional copies: every skip jumps to the end.
    const splits: number[] = [];
    for (let i = node.min; i < node.max; i++) {
      splits.push(this.emit({ op: 'split', x: 0, y: 0 }));
      this.compile(node.body);
    }
    const end = this.prog.length;
    for (const s of splits) this.prog[s] = this.split(greedy, s + 1, end);
  }
}

// ---------------------------------------------------------------------------------------------
// Pike VM

interface Thread {
  pc: number;
  caps: Int32Array;
}

/** A compiled pattern. Strings are matched by code point, as Python's str patterns are. */
export class PyRegex {
  private constructor(
    readonly source: string,
    /** Number of capturing groups. */
    readonly groups: number,
    private readonly prog: Inst[],
  ) {}

  static compile(pattern: string): PyRegex {
    if (pattern.length > MAX_PATTERN_LENGTH) throw new PyRegexError(`pattern too long (${pattern.length} characters; at most ${MAX_PATTERN_LENGTH})`, 0);
    const parser = new Parser(pattern);
    const tree = parser.parse();
    const c = new Compiler();
    c.compile(tree);
    c.prog.push({ op: 'match' });
    return new PyRegex(pattern, parser.groups, c.prog);
  }

  /** re.fullmatch(pattern, s) is not None. */
  fullmatch(s: string): boolean {
    return this.run(s, true) !== null;
  }

  /** re.match(pattern, s): the groups (0 = the whole match), or null. */
  match(s: string): (string | undefined)[] | null {
    return this.run(s, false);
  }

  /** re.fullmatch(pattern, s): the groups, or null. */
  fullmatchGroups(s: string): (string | undefined)[] | null {
    return this.run(s, true);
  }

  private run(text: string, toEnd: boolean): (string | undefined)[] | null {
    const input = Array.from(text, (ch) => ch.codePointAt(0)!);
    const n = input.length;
    const prog = this.prog;
    const slots = 2 * (this.groups + 1);
    const seen = new Int32Array(prog.length).fill(-1);
    let matched: Int32Array | null = null;

    const holds = (kind: AssertKind, pos: number): boolean => {
      switch (kind) {
        case 'start':
          return pos === 0;
        case 'end':
          return pos === n || (pos === n - 1 && input[n - 1] === NEWLINE);
        case 'endOnly':
          return pos === n;
        case 'wordBoundary':
        case 'notWordBoundary': {
          const before = pos > 0 && isWord(input[pos - 1]!);
          const after = pos < n && isWord(input[pos]!);
          return (before !== after) === (kind === 'wordBoundary');
        }
      }
    };

    // Follows jumps, splits, saves and assertions from pc at position pos, appending the threads
    // that wait on a character (or a match) to `list` in priority order. Iterative (an explicit
    // stack), so long chains of optional copies cannot overflow the call stack.
    const stackPc = new Int32Array(2 * prog.length + 2); // each visited pc pushes at most two
    const stackCaps: Int32Array[] = new Array(2 * prog.length + 2);
    const add = (list: Thread[], pc0: number, caps0: Int32Array, pos: number, stamp: number) => {
      let sp = 0;
      stackPc[sp] = pc0;
      stackCaps[sp++] = caps0;
      while (sp > 0) {
        const pc = stackPc[--sp]!;
        const caps = stackCaps[sp]!;
        if (seen[pc] === stamp) continue;
        seen[pc] = stamp;
        const inst = prog[pc]!;
        switch (inst.op) {
          case 'jmp':
            stackPc[sp] = inst.x;
            stackCaps[sp++] = caps;
            break;
          case 'split':
            // Pushed in reverse so the preferred branch is explored (and listed) first.
            stackPc[sp] = inst.y;
            stackCaps[sp++] = caps;
            stackPc[sp] = inst.x;
            stackCaps[sp++] = caps;
            break;
          case 'save': {
            const copy = caps.slice();
            copy[inst.slot] = pos;
            stackPc[sp] = pc + 1;
            stackCaps[sp++] = copy;
            break;
          }
          case 'assert':
            if (holds(inst.kind, pos)) {
              stackPc[sp] = pc + 1;
              stackCaps[sp++] = caps;
            }
            break;
          default:
            list.push({ pc, caps });
        }
      }
    };

    let clist: Thread[] = [];
    const start = new Int32Array(slots).fill(-1);
    start[0] = 0;
    add(clist, 0, start, 0, 0);
    for (let pos = 0; pos <= n && clist.length > 0; pos++) {
      const nlist: Thread[] = [];
      const stamp = pos + 1;
      for (const t of clist) {
        const inst = prog[t.pc]!;
        if (inst.op === 'match') {
          if (toEnd && pos !== n) continue;
          matched = t.caps.slice();
          matched[1] = pos;
          break; // lower-priority threads lose to this match
        }
        if (inst.op === 'char' && pos < n && inst.test(input[pos]!)) add(nlist, t.pc + 1, t.caps, pos + 1, stamp);
      }
      clist = nlist;
    }
    if (!matched) return null;
    const out: (string | undefined)[] = [];
    for (let g = 0; g <= this.groups; g++) {
      const a = matched[2 * g]!;
      const b = matched[2 * g + 1]!;
      out.push(a >= 0 && b >= 0 ? String.fromCodePoint(...input.slice(a, b)) : undefined);
    }
    return out;
  }
}

const cache = new Map<string, PyRegex>();
const CACHE_LIMIT = 2000;

/** Compiles (and caches) a Python pattern; throws PyRegexError with Python-like messages. */
export function compilePyRegex(pattern: string): PyRegex {
  let re = cache.get(pattern);
  if (!re) {
    re = PyRegex.compile(pattern);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

/** Python 3.7+'s re.escape: a backslash before each character special in a pattern. */
export function pyEscape(s: string): string {
  return s.replace(/[()[\]{}?*+\-|^$\\.&~# \t\n\r\v\f]/g, (c) => `\\${c}`);
}
