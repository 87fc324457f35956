// Learning-rate schedules, matching transformers' get_*_schedule_with_warmup: linear warm-up from
// 0 over `warmupSteps`, then constant, linear decay or half-cosine decay to minLrRatio·lr.

export type ScheduleKind = 'constant' | 'linear' | 'cosine';

export interface ScheduleOptions {
  kind: ScheduleKind;
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Floor of the decay as a fraction of lr (0 in transformers). */
  minLrRatio?: number;
}

/** The learning rate for optimizer step `step` (0-based: the first update uses step 0). */
export function learningRate(o: ScheduleOptions, step: number): number {
  if (o.warmupSteps > 0 && step < o.warmupSteps) return (o.lr * step) / o.warmupSteps;
  if (o.kind === 'constant') return o.lr;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, (step - o.warmupSteps) / span);
  const floor = o.minLrRatio ?? 0;
  const decay = o.kind === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return o.lr * (floor + (1 - floor) * decay);
}
