// Evaluation prompts of the experiments never occur among the training prompts (the generated
// tasks' template space is small, so a plain second draw overlaps it by a third).
import { describe, expect, it } from 'vitest';
import { getTask } from '../../../apps/tasks/index.ts';
import type { Task } from '../../../apps/tasks/types.ts';
import { heldOutExamples, taskData } from '../../../apps/experiments/adaptation.ts';
import { quickSettings } from '../../../apps/experiments/settings.ts';

describe('held-out evaluation data', () => {
  it.each(['nli', 'wikisql'])('%s: eval prompts are unique and unseen in training, labels balanced', (name) => {
    const d = taskData(name, { ...quickSettings(), tasks: [name] });
    const train = new Set(d.train.map((e) => e.prompt));
    expect(d.eval).toHaveLength(quickSettings().adapt.evalExamples);
    expect(d.eval.filter((e) => train.has(e.prompt))).toEqual([]);
    expect(new Set(d.eval.map((e) => e.prompt)).size).toBe(d.eval.length);
    if (name === 'nli') {
      const counts = new Map<string, number>();
      for (const e of d.eval) counts.set(e.label!, (counts.get(e.label!) ?? 0) + 1);
      const third = quickSettings().adapt.evalExamples / 3;
      expect([...counts.values()]).toEqual([third, third, third]);
    }
  });

  it('says so when the task cannot supply enough unseen prompts', () => {
    const tiny: Task = { ...getTask('nli'), generate: (n) => Array.from({ length: n }, (_, i) => ({ prompt: `p${i % 3}`, completion: 'x\n' })) };
    expect(() => heldOutExamples(tiny, 5, 1, new Set(['p0']))).toThrow(/only 2 of 5 evaluation prompts/);
  });
});
