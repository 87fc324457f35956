// A spec file's text plus the line table needed to turn offsets into 1-based line/column pairs.
// Columns count UTF-16 code units, the same unit chevrotain and editors' "column" use.

export class Source {
  private lineStarts: number[] | undefined;

  constructor(
    readonly text: string,
    readonly file: string,
  ) {}

  private starts(): number[] {
    if (!this.lineStarts) {
      const starts = [0];
      const t = this.text;
      for (let i = t.indexOf('\n'); i !== -1; i = t.indexOf('\n', i + 1)) starts.push(i + 1);
      this.lineStarts = starts;
    }
    return this.lineStarts;
  }

  get lineCount(): number {
    return this.starts().length;
  }

  /** 1-based line and column of a 0-based offset (clamped into the file). */
  position(offset: number): { line: number; col: number } {
    const starts = this.starts();
    const off = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: off - starts[lo]! + 1 };
  }

  /** The text of a 1-based line without its line break ('' when out of range). */
  lineText(line: number): string {
    const starts = this.starts();
    if (line < 1 || line > starts.length) return '';
    const start = starts[line - 1]!;
    const next = line < starts.length ? starts[line]! - 1 : this.text.length;
    let end = next;
    if (end > start && this.text[end - 1] === '\r') end--;
    return this.text.slice(start, end);
  }

  /** Position just past the last character, where "unexpected end of file" points. */
  endPosition(): { line: number; col: number } {
    // Just past the last visible character, so trailing blank lines do not move the caret away.
    let end = this.text.length;
    while (end > 0 && /\s/.test(this.text[end - 1]!)) end--;
    return this.position(end);
  }
}
