/** What every weight-file reader offers: a listing and tensor loading. */
import type { DType } from '../dtype.js';
import type { Device, Tensor } from '../tensor.js';

/** File dtypes, named as safetensors names them (PyTorch storage types map onto the same names). */
export type FileDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each file dtype. */
export const FILE_DTYPE_SIZE: Readonly<Record<FileDType, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
});

/**
 * Bytes a tensor of `shape` and `dtype` occupies, exactly: a BigInt, so that no product of dimensions wraps
 * or rounds however large a hostile header makes them.
 */
export function byteLength(dtype: FileDType, shape: readonly (number | bigint)[]): bigint {
  return shape.reduce<bigint>((n, d) => n * BigInt(d), BigInt(FILE_DTYPE_SIZE[dtype]));
}

/** Whether `s` names a file dtype (an own key: "constructor" or "toString" must not pass). */
export function isFileDType(s: unknown): s is FileDType {
  return typeof s === 'string' && Object.hasOwn(FILE_DTYPE_SIZE, s);
}

/** One tensor of a weight file, as listed (nothing is read to list it). */
export interface TensorInfo {
  name: string;
  /** The dtype as stored in the file. */
  dtype: FileDType;
  shape: number[];
}

/** How `WeightFile.load` delivers a tensor. */
export interface LoadOptions {
  /**
   * Convert a float tensor to this dtype on load, in TypeScript (round to nearest even). Default: as stored
   * (F64 becomes f32). Asking this of an integer tensor is an error.
   */
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Device to place the tensor on (default 'cpu'; other devices get a copy). */
  device?: Device;
}

/** A tensor's stored bytes: a contiguous byte range of a file, or a copy gathered from a strided view. */
export type StoredBytes = { path: string; byteOffset: number; byteLength: number } | { bytes: Uint8Array };

/** An open weight file (or a sharded set seen as one): list, inspect and load tensors by name. */
export interface WeightFile {
  /** The path it was opened from. */
  readonly path: string;
  /** Every tensor, in file order. */
  readonly tensors: readonly TensorInfo[];
  /** Whether the file holds a tensor of this name. */
  has(name: string): boolean;
  /** The listing entry of a tensor; throws if the file has no such tensor. */
  info(name: string): TensorInfo;
  /**
   * Load a tensor: zero-copy on CPU (a view of the memory-mapped file) when it is stored contiguous in a
   * dtype seed has and no conversion is asked; otherwise converted or gathered into a new tensor. I64
   * becomes i32 (an error if a value does not fit), I16/I8 become i32, F64 becomes f32, BOOL becomes u8.
   */
  load(name: string, options?: LoadOptions): Tensor;
  /**
   * Where a tensor's bytes are, as stored (the file's dtype, row-major): a byte range of a file when they
   * lie there contiguously — so they can be streamed with plain reads — or else a gathered copy.
   */
  stored(name: string): StoredBytes;
  /** Drop the file mappings; tensors already loaded stay valid (they keep their pages mapped). */
  close(): void;
}

/** The seed dtype a file dtype loads as when no conversion is asked. */
export function nativeDType(d: FileDType): DType {
  switch (d) {
    case 'F64':
    case 'F32':
      return 'f32';
    case 'F16':
      return 'f16';
    case 'BF16':
      return 'bf16';
    case 'U8':
    case 'BOOL':
      return 'u8';
    case 'I64':
    case 'I32':
    case 'I16':
    case 'I8':
      return 'i32';
  }
}
