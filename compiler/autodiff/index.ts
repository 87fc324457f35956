export { differentiate, gradientDependence, isTrainableParam } from './differentiate.ts';
export type { GradCtx, GradRule } from './rule.ts';
