// Batches for training and evaluation. The shuffle order of each epoch is a pure function of
// (seed, epoch), so the whole position in the data is three numbers (DataCursor): a resumed run
// saves them in trainer_state.json and continues with exactly the batches it would have seen.
import { UserError } from '../../compiler/errors.ts';
import { IGNORE_INDEX, type Rows } from './dataset.ts';
import { Rng, mixSeed } from './rng.ts';

export interface DataCursor {
  seed: number;
  epoch: number;
  /** Rows of this epoch's order already handed out. */
  position: number;
}

export interface Batch {
  batchSize: number;
  seqLen: number;
  /** [batchSize, seqLen] token ids. */
  ids: Int32Array;
  /** [batchSize, seqLen] labels (HF convention, unshifted; IGNORE_INDEX where no loss). */
  labels: Int32Array;
  /** Which rows of the dataset the batch holds. */
  rows: number[];
}

export class BatchLoader {
  readonly batchSize: number;
  private readonly shuffle: boolean;
  private order: number[] = [];
  private orderEpoch = -1;
  private state: DataCursor;

  constructor(
    private readonly data: Rows,
    opts: { batchSize: number; seed?: number; shuffle?: boolean; cursor?: DataCursor },
  ) {
    if (data.count === 0) throw new UserError('the dataset has no rows (is it shorter than one sequence?)');
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new UserError(`batch size ${opts.batchSize} must be a positive integer`);
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.state = opts.cursor ? { ...opts.cursor } : { seed: opts.seed ?? 0, epoch: 0, position: 0 };
    if (this.state.position > data.count) throw new UserError(`data cursor position ${this.state.position} is past the ${data.count} rows of the dataset (different data?)`);
  }

  /** Batches per epoch, counting a final partial one (batches run on into the next epoch). */
  get stepsPerEpoch(): number {
    return Math.ceil(this.data.count / this.batchSize);
  }

  get cursor(): DataCursor {
    return { ...this.state };
  }

  private epochOrder(epoch: number): number[] {
    if (this.orderEpoch !== epoch) {
      this.order = this.shuffle
        ? new Rng(mixSeed(this.state.seed, epoch)).permutation(this.data.count)
        : Array.from({ length: this.data.count }, (_, i) => i);
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** The next batch; when an epoch runs out mid-batch, the batch is filled from the next epoch. */
  next(): Batch {
    const { seqLen } = this.data;
    const rows: number[] = [];
    while (rows.length < this.batchSize) {
      if (this.state.position >= this.data.count) {
        this.state.epoch++;
        this.state.position = 0;
      }
      rows.push(this.epochOrder(this.state.epoch)[this.state.position++]!);
    }
    return gather(this.data, rows, seqLen);
  }
}

function gather(data: Rows, rows: number[], seqLen: number): Batch {
  const ids = new Int32Array(rows.length * seqLen);
  const labels = new Int32Array(rows.length * seqLen).fill(IGNORE_INDEX);
  rows.forEach((r, b) => {
    if (r < 0) return; // padding row: ids 0, no loss
    ids.set(data.ids.subarray(r * seqLen, (r + 1) * seqLen), b * seqLen);
    labels.set(data.labels.subarray(r * seqLen, (r + 1) * seqLen), b * seqLen);
  });
  return { batchSize: rows.length, seqLen, ids, labels, rows };
}

/** Evaluation batches in order, every row once; the last batch is padded with ignored rows (row index -1). */
export function* evalBatches(data: Rows, batchSize: number): Generator<Batch> {
  for (let start = 0; start < data.count; start += batchSize) {
    const rows = Array.from({ length: batchSize }, (_, i) => (start + i < data.count ? start + i : -1));
    yield gather(data, rows, data.seqLen);
  }
}

/**
 * At most `max` rows, evenly spaced over the whole set (every row when it has no more): held-out
 * evaluation stays bounded however large the data (one 50 MB line is 150,000 rows) and still
 * samples all of it. The same rows every time, so held-out losses of a run compare.
 */
export function evenlySpacedRows(data: Rows, max: number): Rows {
  if (data.count <= max) return data;
  const { seqLen } = data;
  const ids = new Int32Array(max * seqLen);
  const labels = new Int32Array(max * seqLen);
  for (let i = 0; i < max; i++) {
    const r = Math.floor((i * data.count) / max);
    ids.set(data.ids.subarray(r * seqLen, (r + 1) * seqLen), i * seqLen);
    labels.set(data.labels.subarray(r * seqLen, (r + 1) * seqLen), i * seqLen);
  }
  return { count: max, seqLen, ids, labels };
}
