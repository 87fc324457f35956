// A training job's data: tokenizer choice, the file parsed (JSONL or plain text), packed into fixed
// rows and split into training and held-out rows, deterministically from the seed.
import type { CheckedModel } from '../../compiler/check/model.ts';
import { packConcat, packPadded, splitHeldOut, countTargets, isChat, isPromptCompletion, tokenizeExample, type Rows } from './dataset.ts';
import * as fs from 'node:fs';
import { loadExamplesFile, loadFolderTokenizer } from './node-files.ts';
import { GPT2_VOCAB, TOKENIZER_NAMES, loadTokenizer, type Tokenizer } from './tokenizer.ts';
import { UserError } from '../../compiler/errors.ts';

/** The model's vocabulary size: the last dimension of its logits output. */
export function modelVocab(model: CheckedModel): number {
  const out = model.outputs.find((o) => o.name === 'logits') ?? model.outputs[0];
  const shape = out ? model.values[out.value]?.shape : undefined;
  const v = shape?.[shape.length - 1];
  if (typeof v !== 'number') throw new UserError(`${model.file}: cannot tell the vocabulary size (no logits output)`);
  return v;
}

/** GPT-2's BPE is the default only for GPT-2-sized vocabularies (50257, or padded a little, as nanoGPT's 50304). */
const GPT2_DEFAULT = { min: GPT2_VOCAB, max: GPT2_VOCAB + vocabPadding(GPT2_VOCAB) };

/**
 * How many ids a model's embedding may have past its tokenizer's: checkpoints pad the vocabulary for
 * speed (Qwen2.5: 151936 rows for 151665 ids; Phi-3: 32064 for 32011), by well under 1%. A larger
 * gap means the tokenizer is not the model's.
 */
export function vocabPadding(modelVocab: number): number {
  return Math.max(128, Math.ceil(modelVocab * 0.01));
}

/**
 * Refuses a tokenizer that does not fit the model: ids past the model's vocabulary, or a vocabulary
 * that is more than the usual padding larger than the tokenizer's. Returns the number of ids the
 * model may generate (the tokenizer's, when the embedding is padded beyond them).
 */
export function checkTokenizerFits(model: CheckedModel, tok: Tokenizer, hint = ''): number {
  const vocab = modelVocab(model);
  if (tok.vocabSize > vocab) {
    throw new UserError(`tokenizer ${tok.name} has ${tok.vocabSize} ids but ${model.file} has a vocabulary of ${vocab}: the tokenizer is not this model's${hint}`);
  }
  if (vocab - tok.vocabSize > vocabPadding(vocab)) {
    throw new UserError(
      `tokenizer ${tok.name} has ${tok.vocabSize} ids but ${model.file} has a vocabulary of ${vocab}: ${vocab - tok.vocabSize} ids more than the tokenizer knows, ` +
        `beyond the padding a checkpoint adds (at most ${vocabPadding(vocab)}), so the tokenizer is not this model's${hint}`,
    );
  }
  return tok.vocabSize;
}

/**
 * The tokenizer of a run. `name`: bytes, gpt2, a folder holding tokenizer.json, or "hf:<folder>" (as
 * checkpoints record it); else the model folder's own tokenizer (`folder`); else bytes for a
 * 256-entry vocabulary and GPT-2's BPE for a GPT-2-sized one. Any other vocabulary has no default:
 * a 150k-id model silently tokenized with GPT-2's 50k ids would train on garbage. Checked against
 * the model's vocabulary (checkTokenizerFits).
 */
export async function tokenizerFor(model: CheckedModel, name?: string, o: { folder?: string } = {}): Promise<Tokenizer> {
  const vocab = modelVocab(model);
  let tok: Tokenizer;
  let hint = '';
  if (name !== undefined) {
    const dir = name.startsWith('hf:') ? name.slice(3) : name;
    const isFolder = dir !== '' && fs.existsSync(dir) && fs.statSync(dir).isDirectory();
    if (name.startsWith('hf:') || isFolder) tok = loadFolderTokenizer(dir);
    else if ((TOKENIZER_NAMES as readonly string[]).includes(name) || ['byte', 'char', 'r50k_base'].includes(name)) tok = await loadTokenizer(name);
    else throw new UserError(`unknown tokenizer "${name}": give ${TOKENIZER_NAMES.join(', ')}, or a folder holding tokenizer.json`);
  } else if (o.folder !== undefined) {
    tok = loadFolderTokenizer(o.folder);
    hint = ` (pass --tokenizer to use another)`;
  } else if (vocab === 256) {
    tok = await loadTokenizer('bytes');
  } else if (vocab >= GPT2_DEFAULT.min && vocab <= GPT2_DEFAULT.max) {
    tok = await loadTokenizer('gpt2');
    hint = ' (pass --tokenizer)';
  } else {
    throw new UserError(
      `${model.file} has a vocabulary of ${vocab}, which no built-in tokenizer fits (bytes: 256, gpt2: ${GPT2_VOCAB}): ` +
        `pass --tokenizer with the folder of the model's tokenizer.json, or --model with its Hugging Face folder`,
    );
  }
  checkTokenizerFits(model, tok, hint);
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
