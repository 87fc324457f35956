// A training job's data: tokenizer choice, the file parsed (JSONL or plain text), packed into fixed
// rows and split into training and held-out rows, deterministically from the seed.
import type { CheckedModel } from '../../compiler/check/model.ts';
import { packConcat, packPadded, splitHeldOut, countTargets, isChat, isPromptCompletion, tokenizeExample, type Rows } from './dataset.ts';
import { loadExamplesFile } from './node-files.ts';
import { loadTokenizer, type Tokenizer } from './tokenizer.ts';
import { UserError } from '../../compiler/errors.ts';

/** The model's vocabulary size: the last dimension of its logits output. */
export function modelVocab(model: CheckedModel): number {
  const out = model.outputs.find((o) => o.name === 'logits') ?? model.outputs[0];
  const shape = out ? model.values[out.value]?.shape : undefined;
  const v = shape?.[shape.length - 1];
  if (typeof v !== 'number') throw new UserError(`${model.file}: cannot tell the vocabulary size (no logits output)`);
  return v;
}

/** The named tokenizer, or by default bytes for a 256-entry vocabulary and GPT-2's BPE otherwise. */
export async function tokenizerFor(model: CheckedModel, name?: string): Promise<Tokenizer> {
  const vocab = modelVocab(model);
  const tok = await loadTokenizer(name ?? (vocab === 256 ? 'bytes' : 'gpt2'));
  if (tok.vocabSize > vocab) {
    throw new UserError(`tokenizer ${tok.name} has ${tok.vocabSize} ids but ${model.file} has a vocabulary of ${vocab}${name ? '' : ' (pass --tokenizer)'}`);
  }
  return tok;
}

export interface TrainData {
  train: Rows;
  heldOut: Rows | undefined;
  /** 'packed' (text, concatenated) or 'padded' (prompt/completion and chat, one example a row). */
  packing: 'packed' | 'padded';
  examples: number;
  /** Tokens that count towards the loss in the training rows. */
  targetTokens: number;
}

function pickRows(rows: Rows, which: number[]): Rows {
  const { seqLen } = rows;
  const ids = new Int32Array(which.length * seqLen);
  const labels = new Int32Array(which.length * seqLen);
  which.forEach((r, i) => {
    ids.set(rows.ids.subarray(r * seqLen, (r + 1) * seqLen), i * seqLen);
    labels.set(rows.labels.subarray(r * seqLen, (r + 1) * seqLen), i * seqLen);
  });
  return { count: which.length, seqLen, ids, labels };
}

/**
 * Reads `file` (.jsonl: {"text"}, {"prompt","completion"} lines with the loss on the completion
 * only, or {"messages"} conversations rendered with the chat template with the loss on the
 * assistant turns only; anything else: plain text). Text is packed into rows of `seq` tokens;
 * prompt/completion and chat examples get a row each (right-truncated). The held-out rows are a
 * seeded choice of whole rows.
 */
export function loadTrainData(file: string, tok: Tokenizer, o: { seq: number; seed: number; evalFraction: number }): TrainData {
  const examples = loadExamplesFile(file);
  const tokenized = examples.map((ex) => tokenizeExample(tok, ex));
  const padded = examples.some((ex) => isPromptCompletion(ex) || isChat(ex));
  const padId = tok.pad ?? tok.eos ?? 0;
  const rows = padded ? packPadded(tokenized, o.seq, { padId }) : packConcat(tokenized, o.seq, { padId, padTail: true });
  if (rows.count === 0) throw new UserError(`${file}: no training rows`);
  const index = Array.from({ length: rows.count }, (_, i) => i);
  const { train, heldOut } = splitHeldOut(index, rows.count > 1 ? o.evalFraction : 0, o.seed);
  const trainRows = pickRows(rows, train);
  const targets = countTargets(trainRows.labels);
  if (targets === 0) throw new UserError(`${file}: no tokens to learn from (every completion is empty or cut off by --seq ${o.seq})`);
  return {
    train: trainRows,
    heldOut: heldOut.length > 0 ? pickRows(rows, heldOut) : undefined,
    packing: padded ? 'padded' : 'packed',
    examples: examples.length,
    targetTokens: targets,
  };
}
