/**
 * How a model declares its weights: a tree (objects and arrays) whose leaves are {@link WeightSpec}s — one
 * checkpoint tensor each, under its upstream name, with its expected shape and precision — or
 * {@link JoinedSpec}s that build one tensor from several. `loadWeights` turns the tree into the same tree
 * of tensors ({@link Loaded}), so model code reads `w.layers[3].attnQ`: a wrong name is a type error, and
 * a tensor missing from the files is an error at load, never at the first forward pass.
 */
import { Tensor } from '../tensor.js';

/**
 * How a tensor's precision follows the dtype asked at load:
 * - `matrix`: a weight that `linear()` multiplies: takes the asked dtype, quantized per row under int8;
 * - `float`: takes an asked float dtype, stays as stored under int8 and 'auto' (embeddings, norms);
 * - `f32`: always f32, whatever is asked (biases, norms or codebooks that need full precision).
 */
export type Precision = 'matrix' | 'float' | 'f32';

/** A place a tensor may be found: a name in one of the loader's files (default: the first file). */
export interface WeightSource {
  file?: string;
  name: string;
}

const KIND = Symbol('seed.weightSpec');

/** One checkpoint tensor as a model expects it. */
export interface WeightSpec {
  readonly [KIND]: 'tensor';
  /** Where to look, in order; the first is the canonical upstream name (older checkpoints use the others). */
  readonly sources: readonly WeightSource[];
  readonly shape: readonly number[];
  readonly precision: Precision;
  /** Applied once loaded, e.g. a Conv2d kernel [W, 3, p, p] viewed as a linear weight [W, 3·p·p]. */
  readonly transform?: (t: Tensor) => Tensor;
}

/** One tensor made at load from several checkpoint tensors (e.g. EVA's q and v biases joined around a zero k bias). */
export interface JoinedSpec {
  readonly [KIND]: 'joined';
  readonly parts: readonly WeightSpec[];
  /** Builds the tensor from the loaded parts, on their device; the loader disposes the parts afterwards. */
  readonly join: (parts: Tensor[]) => Tensor;
}

/** A model's weight declaration: specs in nested objects and arrays; `undefined` for an absent optional weight. */
export type WeightTree =
  | WeightSpec
  | JoinedSpec
  | undefined
  | readonly WeightTree[]
  | { readonly [key: string]: WeightTree };

/** The tree of tensors a {@link WeightTree} loads as: every spec replaced by its tensor. */
export type Loaded<T> = T extends WeightSpec | JoinedSpec
  ? Tensor
  : T extends undefined
    ? undefined
    : T extends readonly (infer U)[]
      ? Loaded<U>[]
      : { readonly [K in keyof T]: Loaded<T[K]> };

export interface WeightOptions {
  /** Default 'matrix' for 2-D shapes, 'float' otherwise. */
  precision?: Precision;
  /** The file `name` is in (default: the loader's first file). */
  file?: string;
  /** Other places to look when `name` is absent (older names, or another file). */
  aliases?: readonly (string | WeightSource)[];
  transform?: (t: Tensor) => Tensor;
}

/** Declare one checkpoint tensor: its upstream name and expected shape. */
export function weight(name: string, shape: readonly number[], options: WeightOptions = {}): WeightSpec {
  const source = (s: string | WeightSource): WeightSource =>
    typeof s === 'string' ? { file: options.file, name: s } : s;
  return {
    [KIND]: 'tensor',
    sources: [source(name), ...(options.aliases ?? []).map(source)],
    shape: [...shape],
    precision: options.precision ?? (shape.length === 2 ? 'matrix' : 'float'),
    transform: options.transform,
  };
}

/** Declare a tensor built at load from several checkpoint tensors. */
export function joined(parts: readonly WeightSpec[], join: (parts: Tensor[]) => Tensor): JoinedSpec {
  return { [KIND]: 'joined', parts: [...parts], join };
}

export function isWeightSpec(x: unknown): x is WeightSpec {
  return typeof x === 'object' && x !== null && (x as WeightSpec)[KIND] === 'tensor';
}

export function isJoinedSpec(x: unknown): x is JoinedSpec {
  return typeof x === 'object' && x !== null && (x as JoinedSpec)[KIND] === 'joined';
}

/** One leaf of a weight tree with its path ("layers.3.attnQ"; a joined spec's parts get ".0", ".1", …). */
export interface ListedSpec {
  path: string;
  spec: WeightSpec;
  /** The canonical upstream name (the first source). */
  name: string;
  /** The file role of the canonical name (undefined: the loader's first file). */
  file: string | undefined;
  shape: readonly number[];
}

/** Every checkpoint tensor a tree asks for, in declaration order (joined specs contribute their parts). */
export function listSpecs(tree: WeightTree): ListedSpec[] {
  const out: ListedSpec[] = [];
  const visit = (node: WeightTree, path: string) => {
    if (node === undefined) return;
    if (isWeightSpec(node)) {
      out.push({ path, spec: node, name: node.sources[0].name, file: node.sources[0].file, shape: node.shape });
    } else if (isJoinedSpec(node)) {
      for (const [i, p] of node.parts.entries()) visit(p, `${path}.${i}`);
    } else if (Array.isArray(node)) {
      for (const [i, child] of node.entries()) visit(child, path ? `${path}.${i}` : String(i));
    } else {
      for (const [key, child] of Object.entries(node)) visit(child as WeightTree, path ? `${path}.${key}` : key);
    }
  };
  visit(tree, '');
  return out;
}

/** Every tensor of a loaded tree (for disposal and accounting). */
export function loadedTensors(tree: unknown): Tensor[] {
  const out: Tensor[] = [];
  const visit = (node: unknown) => {
    if (node === undefined || node === null) return;
    if (node instanceof Tensor) out.push(node);
    else if (Array.isArray(node)) for (const child of node) visit(child);
    else if (typeof node === 'object') for (const child of Object.values(node)) visit(child);
  };
  visit(tree);
  return out;
}
