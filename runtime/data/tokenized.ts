// A tokenized training example and the label that masks a token out of the loss: shared by the
// plain-text and chat tokenizers (dataset.ts, chat-data.ts) without either importing the other's
// module for it.

/** PyTorch's ignore_index: a label that does not count towards the loss (prompt tokens, padding). */
export const IGNORE_INDEX = -100;

export interface TokenizedExample {
  ids: number[];
  labels: number[];
}
