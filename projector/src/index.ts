// What other packages use from the projector: the projections and the profile projector (the benchmarks measure them, or fill stores with them).
export { AggregateBatch } from './core/aggregate-projection.ts';
export { toProfileEntry } from './core/profile-projection.ts';
export { createProfileProjector } from './core/profile-projector.ts';
