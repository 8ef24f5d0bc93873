// What other packages use from the projector: the aggregate projection (the benchmarks measure it).
export { AggregateBatch } from './core/aggregate-projection.ts';
