// Item 6's analysis on hand-made adapters: when the r=64 factor contains the r=8 factor's row space
// among its strongest directions the similarity is 1, and unrelated random factors sit near the
// max(i, j)/d expected of random subspaces.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../runtime/data/rng.ts';
import { loraParamNames } from '../../../compiler/lora/keys.ts';
import { subspaceOf, type KeptAdapter } from '../../../apps/experiments/adaptation.ts';
import { loraModel, plainModel } from '../../../apps/experiments/lab.ts';
import { adapterConfig, quickSettings } from '../../../apps/experiments/settings.ts';

const plain = plainModel(quickSettings().model);

function adapter(r: number, fillA: (module: string, rows: number, cols: number) => Float32Array): KeptAdapter {
  const config = adapterConfig(['Wq', 'Wv'], r);
  const model = loraModel(plain, config, 8);
  const weights = new Map<string, Float32Array>();
  for (const t of model.lora) weights.set(loraParamNames(t.module).a, fillA(t.module, r, t.inFeatures));
  return { task: 'nli', seed: 0, config, model, weights };
}

const gaussian = (rng: Rng, n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);

describe('subspace similarity of LoRA factors', () => {
  it('is 1 where the large factor contains the small one, and near random elsewhere', () => {
    const rng = new Rng(7);
    const small = new Map<string, Float32Array>();
    const a8 = adapter(8, (m, r, c) => {
      const a = gaussian(rng, r * c);
      small.set(m, a);
      return a;
    });
    // A (r=64): the small factor's rows, strongly, then 56 weak random rows.
    const a64 = adapter(64, (m, r, c) => {
      const a = gaussian(rng, r * c, 1e-3);
      a.set(small.get(m)!.map((x) => x * 10));
      return a;
    });
    const res = subspaceOf(a8, a64);
    expect(res.grids).toHaveLength(4); // 2 layers x (q_proj, v_proj)
    for (const g of res.grids) {
      expect(g.r1).toBe(8);
      expect(g.r2).toBe(64);
      expect(g.values[7 * 64 + 7]).toBeCloseTo(1, 4); // φ(8, 8)
      expect(g.values[7 * 64 + 63]).toBeCloseTo(1, 6); // r=64 spans everything at width 64
      expect(g.singular1[0]).toBeGreaterThanOrEqual(g.singular1[7]!);
    }

    const unrelated = subspaceOf(a8, adapter(64, (_m, r, c) => gaussian(new Rng(99), r * c)));
    for (const g of unrelated.grids) {
      expect(g.values[0]).toBeLessThan(0.3); // φ(1, 1); random expectation 1/64
    }
  });
});
