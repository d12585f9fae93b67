export * from './constants.ts';
export * from './presets.ts';
export * from './quantity.ts';
export * from './spec.ts';
export * from './status.ts';
export * from './resource.ts';
export * from './validate.ts';
