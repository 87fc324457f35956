// Text mutations for the fuzz test: characters and tokens deleted, inserted, swapped.
const SNIPPETS = ['(', ')', '{', '}', '[', ']', ',', '=', '->', '..', '"', '/*', '*/', '//', 'repeat i in 0..3 {', 'lora', 'tied', 'frozen', 'as', '0', '-1', '1e400', '99999999999999999999', 'x', 'model', '\u0000', '\uffff', '\n', ' / 0', ' * 9007199254740991'];

export function mutate(text: string, tokens: { start: number; end: number }[], r: () => number): string {
  const pick = (n: number) => Math.floor(r() * n);
  let t = text;
  const rounds = 1 + pick(3);
  for (let k = 0; k < rounds; k++) {
    const pos = pick(t.length + 1);
    switch (pick(7)) {
      case 0: // delete a character
        t = t.slice(0, pos) + t.slice(pos + 1);
        break;
      case 1: // insert a random character (printable or not)
        t = t.slice(0, pos) + String.fromCharCode(r() < 0.8 ? 32 + pick(95) : pick(0x3000)) + t.slice(pos);
        break;
      case 2: // swap two characters
        if (pos + 1 < t.length) t = t.slice(0, pos) + t[pos + 1] + t[pos] + t.slice(pos + 2);
        break;
      case 3: // insert a grammar snippet
        t = t.slice(0, pos) + SNIPPETS[pick(SNIPPETS.length)] + t.slice(pos);
        break;
      case 4: // delete a token (offsets of the original text; harmless if stale)
      case 5: {
        const tok = tokens[pick(tokens.length)];
        if (tok && tok.end <= t.length) t = t.slice(0, tok.start) + t.slice(tok.end);
        break;
      }
      case 6: {
        // swap two tokens
        const a = tokens[pick(tokens.length)];
        const b = tokens[pick(tokens.length)];
        if (a && b && a.end <= b.start && b.end <= t.length) t = t.slice(0, a.start) + t.slice(b.start, b.end) + t.slice(a.end, b.start) + t.slice(a.start, a.end) + t.slice(b.end);
        break;
      }
    }
  }
  return t;
}

