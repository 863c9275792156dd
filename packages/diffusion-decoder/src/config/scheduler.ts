/**
 * `scheduler/scheduler_config.json` and `image_noising_scheduler/scheduler_config.json` → {@link SchedulerConfig}.
 * One parsed shape for every scheduler (diffusers builds DDIM or DPM-Solver from a PNDM config the same
 * way, through `from_config`). Fields a scheduler gives its own default to (timestep_spacing) stay
 * undefined when absent, so each scheduler applies its own.
 */
import { ConfigFields, type Json } from './fields.js';

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export interface SchedulerConfig {
  /** `_class_name`, e.g. "PNDMScheduler" (undefined when the file has none). */
  className: string | undefined;
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  /** Explicit betas (overrides the schedule), or undefined. */
  trainedBetas: number[] | undefined;
  predictionType: PredictionType;
  /** Undefined: the scheduler's own default (leading for PNDM/DDIM, linspace for DPM-Solver). */
  timestepSpacing: TimestepSpacing | undefined;
  stepsOffset: number;
  /** The ᾱ used past the last step: 1 (true) or ᾱ[0] (false). */
  setAlphaToOne: boolean;
  skipPrkSteps: boolean;
  /** DDIM: clip x̂₀ to [−clipSampleRange, clipSampleRange]. */
  clipSample: boolean;
  clipSampleRange: number;
}

/** diffusers' defaults (shared by DDPM, DDIM and PNDM). */
export function parseSchedulerConfig(
  json: Json,
  notes: string[] = [],
  what = 'scheduler/scheduler_config.json',
): SchedulerConfig {
  const f = new ConfigFields(json, what, notes);
  const trained = f.json.trained_betas;
  f.accept('trained_betas');
  let trainedBetas: number[] | undefined;
  if (trained !== undefined && trained !== null) {
    if (!Array.isArray(trained) || !trained.every((b) => typeof b === 'number' && b > 0 && b < 1))
      f.fail('trained_betas', 'must be a list of numbers in (0, 1)');
    trainedBetas = trained as number[];
  }
  const numTrainTimesteps = f.int('num_train_timesteps', 1000, 2);
  if (trainedBetas && trainedBetas.length !== numTrainTimesteps)
    f.fail('trained_betas', `has ${trainedBetas.length} values but num_train_timesteps is ${numTrainTimesteps}`);
  const cfg: SchedulerConfig = {
    className: typeof json._class_name === 'string' ? json._class_name : undefined,
    numTrainTimesteps,
    betaStart: f.num('beta_start', 0.0001, (v) => v > 0 && v < 1, 'in (0, 1)'),
    betaEnd: f.num('beta_end', 0.02, (v) => v > 0 && v < 1, 'in (0, 1)'),
    betaSchedule: f.oneOf<BetaSchedule>('beta_schedule', 'linear', ['linear', 'scaled_linear', 'squaredcos_cap_v2']),
    trainedBetas,
    predictionType: f.oneOf<PredictionType>('prediction_type', 'epsilon', ['epsilon', 'v_prediction', 'sample']),
    timestepSpacing: f.optional('timestep_spacing', () =>
      f.oneOf<TimestepSpacing>('timestep_spacing', 'leading', ['leading', 'trailing', 'linspace']),
    ),
    stepsOffset: f.int('steps_offset', 0, 0),
    setAlphaToOne: f.bool('set_alpha_to_one', false),
    skipPrkSteps: f.bool('skip_prk_steps', false),
    clipSample: f.bool('clip_sample', false),
    clipSampleRange: f.num('clip_sample_range', 1, (v) => v > 0, 'a positive number'),
  };
  f.fixed('thresholding', false);
  f.fixed('rescale_betas_zero_snr', false);
  // DDPM's sampling-only fields and DPM-Solver's knobs: the noising scheduler only adds noise, and the
  // samplers here fix the DPM-Solver++(2M) variant.
  f.accept('variance_type', 'dynamic_thresholding_ratio', 'sample_max_value', 'solver_order', 'algorithm_type');
  f.accept('solver_type', 'lower_order_final', 'final_sigmas_type', 'use_karras_sigmas', 'lambda_min_clipped');
  f.finish();
  return cfg;
}
