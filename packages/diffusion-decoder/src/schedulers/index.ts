/** The samplers behind one {@link Scheduler} interface, and the DDPM noising of the image embedding. */
import type { SchedulerConfig } from '../config/scheduler.js';
import { DdimScheduler } from './ddim.js';
import { DpmSolverScheduler } from './dpm-solver.js';
import { PndmScheduler } from './pndm.js';
import type { Scheduler, SchedulerName } from './scheduler.js';

export { DdimScheduler } from './ddim.js';
export { DdpmNoiser } from './ddpm.js';
export { DpmSolverScheduler } from './dpm-solver.js';
export { PndmScheduler } from './pndm.js';
export { alphasCumprod, betas, linspaceF32, roundHalfEven, spacedTimesteps } from './schedule.js';
export type { Scheduler, SchedulerName } from './scheduler.js';

export const SCHEDULER_NAMES: readonly SchedulerName[] = ['pndm', 'ddim', 'dpmsolver++'];

/** A sampler built from the pipeline's scheduler config (as diffusers' `from_config` would). */
export function createScheduler(name: SchedulerName, config: SchedulerConfig): Scheduler {
  switch (name) {
    case 'pndm':
      return new PndmScheduler(config);
    case 'ddim':
      return new DdimScheduler(config);
    case 'dpmsolver++':
      return new DpmSolverScheduler(config);
    default:
      throw new Error(`unknown scheduler '${String(name)}' (expected ${SCHEDULER_NAMES.join(', ')})`);
  }
}
