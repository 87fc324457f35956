// Rank classification sums each candidate's log-probabilities after its prompt. The oracle is the
// graph's own cross-entropy: for one row holding prompt + candidate, loss x (candidate tokens) is
// minus that sum. Run on the interpreter (no GPU) with a small random char-gpt.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByteTokenizer } from '../../../runtime/data/tokenizer.ts';
import { decisiveLengths, rankCandidates } from '../../../runtime/generate/classify.ts';
import { compile } from '../../../compiler/compile.ts';
import { createExecutor } from '../../../runtime/exec/create.ts';
import { feedTokens } from '../../../runtime/model/feeds.ts';
import { EXAMPLES_DIR, loadSpec } from '../../../runtime/model/load-spec.ts';
import { stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { initBaseWeights, setWeights } from '../../../runtime/model/weights.ts';

const SEQ = 16;
const tok = new ByteTokenizer();

async function executor(batch: number) {
  const model = stripAdapters(loadSpec(join(EXAMPLES_DIR, 'char-gpt.rf'), { overrides: { ctx: 64, d: 16, layers: 1, heads: 2 } }));
  const exec = await createExecutor(compile(model, { mode: 'eval', batch, seq: SEQ }), { backend: 'interp' });
  setWeights(exec, initBaseWeights(model, 7));
  return exec;
}

/** -loss * n for one row: the summed log-probability of the completion's first n tokens. */
async function logProbByLoss(prompt: string, completion: string, n: number): Promise<number> {
  const exec = await executor(1);
  const p = tok.encode(prompt);
  const c = tok.encode(completion).slice(0, n);
  const ids = new Int32Array(SEQ);
  ids.set([...p, ...tok.encode(completion)]);
  const labels = new Int32Array(SEQ).fill(-100);
  labels.set(c, p.length);
  feedTokens(exec, ids, 1, SEQ, labels);
  exec.run();
  const loss = ((await exec.read('loss')) as Float32Array)[0]!;
  return -loss * c.length;
}

describe('decisiveLengths', () => {
  it('scores up to the first token that tells a candidate apart', () => {
    const enc = (xs: string[]) => xs.map((x) => tok.encode(x));
    expect(decisiveLengths(enc(['entailment\n', 'neutral\n', 'contradiction\n']))).toEqual([1, 1, 1]);
    expect(decisiveLengths(enc(['no\n', 'not\n', 'yes\n']))).toEqual([3, 3, 1]);
    expect(decisiveLengths(enc(['a', 'ab']))).toEqual([1, 2]);
  });
});

describe('rankCandidates', () => {
  it('sums the decisive prefix log-probabilities as the cross-entropy does, and picks the largest', async () => {
    const prompts = ['ab c -> ', 'xyz -> ', 'q -> '];
    const candidates = ['no\n', 'not\n', 'maybe\n'];
    // batch 4 over 9 rows: the last batch is padded, which must not change any score.
    const ranked = await rankCandidates(await executor(4), tok, prompts, candidates, 4, SEQ);
    for (let p = 0; p < prompts.length; p++) {
      for (let c = 0; c < candidates.length; c++) {
        expect(ranked.logProbs[p]![c]).toBeCloseTo(await logProbByLoss(prompts[p]!, candidates[c]!, ranked.decisive[c]!), 4);
      }
      const lp = ranked.logProbs[p]!;
      expect(lp[ranked.choice[p]!]).toBe(Math.max(...lp));
    }
  });

  it('rejects an empty candidate list and rows longer than the sequence', async () => {
    const exec = await executor(2);
    await expect(rankCandidates(exec, tok, ['a'], [], 2, SEQ)).rejects.toThrow(/no candidates/);
    await expect(rankCandidates(exec, tok, ['a'.repeat(SEQ)], ['b'], 2, SEQ)).rejects.toThrow(/more than the sequence length/);
  });
});
