export { cse } from './cse.ts';
export { dce } from './dce.ts';
export { fuseElementwise } from './fuse-elementwise.ts';
export { fuseLowrank } from './fuse-lowrank.ts';
export { passes, pipeline, pipelinePasses, type NamedPass, type PipelineOptions } from './pipeline.ts';
export { planRecompute, recomputeBlocks, RECOMPUTE_MODES, type RecomputeMode } from './recompute.ts';
export { rewrite, useCounts, usersOf, type Pass, type RewriteCtx } from './rewrite.ts';
export { splitOversized, chunkName, type SplitOptions } from './split.ts';
export { storagePass, storageDtype, type ParamDtypes } from './storage.ts';
