// Continuous batching (Orca, vLLM): requests join and leave the running batch between steps.
//   - admission: at most `maxQueue` requests are admitted at once (running and waiting); beyond
//     that, submit refuses (an HTTP 429), so a flood queues no unbounded work;
//   - rows: the decoding graph has a fixed batch of rows, each with its KV cache (KvRows); a waiting
//     request takes a free row, first come first served;
//   - each step: at most one prefill chunk of the oldest prefilling request (long prompts do not
//     stall the batch for more than one chunk per step), then one decoding step of every request
//     whose prompt is prefilled (prompt tokens past the last full chunk, then generated ones).
import type { Sequence } from './sequence.ts';

export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the server is at capacity: ${limit} requests are admitted at once (--max-queue ${limit}); retry later`);
    this.name = 'QueueFullError';
  }
}

/** Free rows of the decoding batch: one per running sequence, its KV cache row. */
export class KvRows {
  private readonly free: number[];

  constructor(readonly count: number) {
    this.free = Array.from({ length: count }, (_, i) => i);
  }

  get available(): number {
    return this.free.length;
  }

  take(): number | undefined {
    return this.free.shift();
  }

  give(row: number): void {
    if (row < 0 || row >= this.count || this.free.includes(row)) throw new Error(`KV row ${row} freed twice or out of range`);
    this.free.push(row);
    this.free.sort((a, b) => a - b);
  }
}

export interface StepPlan {
  /** The request whose next prefill chunk runs this step. */
  prefill?: Sequence;
  /** Requests in the decoding batch this step, by row. */
  decode: Sequence[];
}

export class Scheduler {
  private readonly waiting: Sequence[] = [];
  /** By row; undefined where free. */
  private readonly running: (Sequence | undefined)[];
  readonly rows: KvRows;

  constructor(
    rows: number,
    readonly maxQueue: number,
    /** Full prefill chunks a prompt of this length gets (the rest is fed by decoding steps). */
    private readonly prefillChunks: (promptLength: number) => number,
  ) {
    if (!(Number.isInteger(maxQueue) && maxQueue >= 1)) throw new Error(`maxQueue must be a positive integer, got ${maxQueue}`);
    this.rows = new KvRows(rows);
    this.running = new Array(rows).fill(undefined);
  }

  /** Requests admitted (running and waiting). */
  get admitted(): number {
    return this.waiting.length + this.running.filter(Boolean).length;
  }

  get idle(): boolean {
    return this.admitted === 0;
  }

  /** Queues a request, or throws QueueFullError beyond maxQueue. */
  admit(seq: Sequence): void {
    if (this.admitted >= this.maxQueue) throw new QueueFullError(this.maxQueue);
    this.waiting.push(seq);
  }

  /** Every admitted request (for aborting or failing them all). */
  all(): Sequence[] {
    return [...this.waiting, ...this.running.filter((s): s is Sequence => s !== undefined)];
  }

  /** Takes a finished request out (waiting or running), freeing its row. */
  remove(seq: Sequence): void {
    const w = this.waiting.indexOf(seq);
    if (w >= 0) this.waiting.splice(w, 1);
    if (seq.row >= 0 && this.running[seq.row] === seq) {
      this.running[seq.row] = undefined;
      this.rows.give(seq.row);
      seq.row = -1;
    }
  }

  /** Moves waiting requests into free rows and picks this step's work. */
  plan(): StepPlan {
    while (this.waiting.length > 0 && this.rows.available > 0) {
      const seq = this.waiting.shift()!;
      seq.row = this.rows.take()!;
      this.running[seq.row] = seq;
      seq.phase = this.prefillChunks(seq.promptLength) > 0 ? 'prefill' : 'decode';
    }
    const active = this.running.filter((s): s is Sequence => s !== undefined);
    // The oldest prefilling request (lowest id) goes first.
    const prefill = active.filter((s) => s.phase === 'prefill').sort((a, b) => a.id - b.id)[0];
    return { ...(prefill ? { prefill } : {}), decode: active.filter((s) => s.phase === 'decode') };
  }
}
