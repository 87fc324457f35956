// The split pass on a serving graph (many adapters, one KV position per row) of the tiny Llama whose
// embedding and LM head exceed a 4 KiB binding: with the LM head among the stacked targets, its
// gathered_lowrank runs per column range of the split product (its slice of the stacked B) and the
// logits equal the unsplit graph's; stacked adapters over the limit are refused by name.
import { describe, expect, it } from 'vitest';
import { compile } from '../../../compiler/compile.ts';
import { DeviceLimitError } from '../../../compiler/errors.ts';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { bytesOf } from '../../../compiler/plan/memory-plan.ts';
import { ADAPTER_INDEX_INPUT, OFFSET_INPUT, POSITIONS_INPUT, stackedLoraNames, type MultiAdapterOptions } from '../../../compiler/lower/lower-model.ts';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { InterpExecutor } from '../../../runtime/exec/interp-executor.ts';
import { paramNames } from '../../../runtime/exec/executor.ts';
import { setWeights } from '../../../runtime/model/weights.ts';
import { stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { LIMIT, TINY_TARGET, tinyLlama, weightsFor } from '../../helpers/tiny-split.ts';

const ROWS = 2;
// Rank 1 and 2 slots: the LM head's stacked B [2, 300, 1] fits 4 KiB; a rank-4 one would not.
const ADAPTERS: MultiAdapterOptions = { slots: 2, maxRank: 1, targets: ['all-linear', 'lm_head'] };

function serving(model: CheckedModel, split: boolean, adapters = ADAPTERS) {
  return compile(model, { mode: 'decode', batch: ROWS, seq: 1, cacheLen: 8, rowOffsets: true, adapters, ...(split ? { target: TINY_TARGET } : {}) });
}

/** Logits of one decoding step: base weights, seeded stacked adapters, row 0 on slot 1, row 1 on slot 0 (by default). */
async function logits(model: CheckedModel, split: boolean, index = Int32Array.of(1, 0)): Promise<Float32Array> {
  const exec = new InterpExecutor(serving(model, split).graph, 'f64');
  setWeights(exec, weightsFor(model)[0]!);
  for (const name of paramNames(exec.graph).filter((n) => n.endsWith('.stacked'))) {
    const node = exec.graph.nodes.find((n) => n.op === 'param' && (n.attrs as OpAttrs['param']).name === name)!;
    const size = node.type.shape.reduce((a, b) => a * b, 1);
    exec.setParam(name, Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.7 + name.length) * 0.3));
  }
  exec.setInput('ids', Int32Array.of(7, 250));
  exec.setInput(POSITIONS_INPUT, Int32Array.of(3, 0));
  exec.setInput(OFFSET_INPUT, Int32Array.of(3, 0));
  exec.setInput(ADAPTER_INDEX_INPUT, index);
  exec.run();
  return (await exec.read('logits')) as Float32Array;
}

describe('split pass on serving graphs', () => {
  for (const tie of [false, true]) {
    it(`gathered_lowrank over a split LM head${tie ? ' (tied)' : ''} runs per chunk and gives the unsplit logits`, async () => {
      const model = stripAdapters(tinyLlama(tie));
      const program = serving(model, true);
      verifyGraph(program.graph);
      for (const id of program.plan.assignment.keys()) expect(bytesOf(program.graph.nodes[id]!)).toBeLessThanOrEqual(LIMIT);
      const head = program.graph.nodes.filter((n) => n.op === 'gathered_lowrank' && n.label?.startsWith('lm_head.multi_lora'));
      expect(head).toHaveLength(5);
      for (const n of head) expect(program.graph.nodes[n.inputs[2]!]!.op).toBe('slice');
      expect(program.graph.outputParts?.['logits']).toHaveLength(5);

      const [a, b] = [await logits(model, true), await logits(model, false)];
      expect(a).toHaveLength(ROWS * 300);
      for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= 1e-9 * (1 + Math.abs(b[i]!)))) throw new Error(`logits[${i}]: ${a[i]} vs ${b[i]}`);
      // The adapters change every row's logits (the comparison is not of two base models).
      const base = await logits(model, true, Int32Array.of(-1, -1));
      for (const row of [0, 1]) expect(Math.max(...a.subarray(row * 300, (row + 1) * 300).map((v, i) => Math.abs(v - base[row * 300 + i]!)))).toBeGreaterThan(1e-3);
    });
  }

  it('refuses stacked adapters larger than one binding, naming them and what to lower', () => {
    const model = stripAdapters(tinyLlama(false));
    const big = { ...ADAPTERS, maxRank: 4 };
    let err: unknown;
    try {
      serving(model, true, big);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeviceLimitError);
    const message = (err as Error).message;
    expect(message).toContain(`weight "${stackedLoraNames('lm_head').b}" [2, 300, 4]`);
    expect(message).toContain('maxStorageBufferBindingSize');
    expect(message).toContain('gathered_lowrank');
    expect(message).toContain('fewer adapter slots or a lower maximum rank');
  });
});
