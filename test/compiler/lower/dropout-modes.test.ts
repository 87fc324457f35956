// Adapter dropout belongs to training only: evaluation and decoding graphs must not drop anything
// (PEFT in eval mode), or their logits differ from what PEFT computes with the same adapter.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { compile } from '../../../compiler/compile.ts';
import { EXAMPLES_DIR, loadSpec, readConfigJson } from '../../../runtime/model/load-spec.ts';
import { conformanceCase } from '../../helpers/conformance.ts';

describe('adapter dropout by graph mode', () => {
  const model = loadSpec(join(EXAMPLES_DIR, 'llama.rf'), { config: readConfigJson(join(conformanceCase('llama_qv_r4'), 'config.json')) });
  const dropouts = (mode: 'train' | 'eval' | 'decode') =>
    compile(model, { mode, batch: 1, seq: mode === 'decode' ? 1 : 4, cacheLen: 4, stopAfter: 'passes' }).graph.nodes.filter((n) => n.op === 'dropout').length;

  it('llama.rf has dropout 0.05 on its adapters, applied in training', () => {
    expect(model.lora.every((t) => t.config.dropout === 0.05)).toBe(true);
    // One per adapter input in the forward pass, more in the backward (the same mask applied to dy).
    expect(dropouts('train')).toBeGreaterThanOrEqual(model.lora.length);
  });
  it('evaluation and decoding graphs have no dropout', () => {
    expect(dropouts('eval')).toBe(0);
    expect(dropouts('decode')).toBe(0);
  });
});
