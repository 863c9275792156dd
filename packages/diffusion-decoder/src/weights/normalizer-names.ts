/** StableUnCLIPImageNormalizer's two parameters, `mean` and `std`, stored [1, E]; always f32. */
import { type Loaded, weight } from '@seed/cuda-kernels';

export const normalizerWeightSpecs = (embeddingDim: number) => ({
  mean: weight('mean', [1, embeddingDim], { precision: 'f32' }),
  std: weight('std', [1, embeddingDim], { precision: 'f32' }),
});

export type NormalizerWeights = Loaded<ReturnType<typeof normalizerWeightSpecs>>;
