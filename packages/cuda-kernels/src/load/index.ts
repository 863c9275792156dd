/** The weight loader shared by every model package: declare a spec tree, load it from weight files. */
export { type ArrayWeight, InMemoryWeights } from './in-memory.js';
export {
  LOAD_DTYPES,
  type LoadDType,
  type LoadedWeights,
  type LoadWeightsOptions,
  loadWeights,
} from './load-weights.js';
export {
  isJoinedSpec,
  isWeightSpec,
  type JoinedSpec,
  joined,
  type ListedSpec,
  type Loaded,
  listSpecs,
  loadedTensors,
  type Precision,
  type WeightOptions,
  type WeightSource,
  type WeightSpec,
  type WeightTree,
  weight,
} from './spec.js';
