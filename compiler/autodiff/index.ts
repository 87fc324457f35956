export { differentiate, gradientDependence, isTrainableParam } from './differentiate.ts';
export { gradRules } from './rules/index.ts';
export type { GradCtx, GradRule } from './rule.ts';
