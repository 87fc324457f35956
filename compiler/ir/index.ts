export * from './types.ts';
export * from './ops.ts';
export * from './builder.ts';
