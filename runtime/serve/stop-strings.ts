// Stop sequences over streamed text (OpenAI's `stop`): the output ends right before the first
// occurrence of any stop string, which is not returned. Streamed text is held back while its tail
// could still become the start of a stop string, so a client never receives text that a later
// token turns into a stop (vLLM holds back the same way).

export class StopStrings {
  /** Text accepted but not yet released (it may be the start of a stop string). */
  private pending = '';
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {
    for (const s of stops) if (s === '') throw new Error('stop strings must not be empty');
  }

  /** Whether a stop string has been seen (nothing more is released after it). */
  get hit(): boolean {
    return this.stopped;
  }

  /** Adds decoded text; returns what is safe to release now. */
  push(text: string): string {
    if (this.stopped) return '';
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const at = this.pending.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return out;
    }
    const keep = this.heldBack();
    const out = this.pending.slice(0, this.pending.length - keep);
    this.pending = this.pending.slice(this.pending.length - keep);
    return out;
  }

  /** The end of generation: whatever was held back is final. */
  flush(): string {
    if (this.stopped) return '';
    const out = this.pending;
    this.pending = '';
    return out;
  }

  /** Length of the longest tail of `pending` that is a proper prefix of some stop string. */
  private heldBack(): number {
    let keep = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.pending.length); n > keep; n--) {
        if (this.pending.endsWith(s.slice(0, n))) {
          keep = n;
          break;
        }
      }
    }
    return keep;
  }
}
