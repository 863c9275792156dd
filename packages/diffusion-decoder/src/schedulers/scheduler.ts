/**
 * The contract every sampler follows (diffusers' scheduler contract): `setTimesteps(n)` fixes the
 * timesteps of an n-step run, then the pipeline calls the model once per entry of `timesteps` and feeds
 * its output to `step`. Samples and model outputs are host Float32Arrays (the per-step arithmetic is a few
 * element-wise float32 ops, done exactly as upstream orders them); the scaled model input is the sample
 * itself for every scheduler here (init_noise_sigma 1).
 */
export type SchedulerName = 'pndm' | 'ddim' | 'dpmsolver++';

export interface Scheduler {
  readonly name: SchedulerName;
  /** The UNet call timesteps of the run, in call order (empty before setTimesteps). */
  readonly timesteps: readonly number[];
  /** Starting latents are N(0, 1) · initNoiseSigma (1 for all three). */
  readonly initNoiseSigma: number;
  /** Start a run of `steps` steps (resets any multistep history). */
  setTimesteps(steps: number): void;
  /**
   * One step: the model's output at timestep `t` (the next entry of `timesteps`) and the current sample →
   * the previous (less noisy) sample. Calls must follow `timesteps` in order; anything else is an Error.
   */
  step(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array;
}

/** The model output and the sample must be the same size. */
export function checkStepArgs(who: string, modelOutput: Float32Array, sample: Float32Array): void {
  if (modelOutput.length !== sample.length)
    throw new Error(`${who}: model output has ${modelOutput.length} values but the sample has ${sample.length}`);
}
