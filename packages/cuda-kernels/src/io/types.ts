/** What every weight-file reader offers: a listing and tensor loading. */
import type { DType } from '../dtype.js';
import type { Device, Tensor } from '../tensor.js';

/** File dtypes, named as safetensors names them (PyTorch storages map onto the same names). */
export type FileDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const FILE_DTYPE_SIZE: Record<FileDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface TensorInfo {
  name: string;
  dtype: FileDType;
  shape: number[];
}

export interface LoadOptions {
  /** Convert float tensors to this dtype on load (default: as stored; F64 becomes f32). */
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Device to place the tensor on (default 'cpu'). */
  device?: Device;
}

export interface WeightFile {
  readonly path: string;
  /** Every tensor, in file order. */
  readonly tensors: readonly TensorInfo[];
  has(name: string): boolean;
  /** The listing entry of a tensor; throws if the file has no such tensor. */
  info(name: string): TensorInfo;
  /** Load a tensor (zero-copy on CPU when it is stored contiguous in a dtype seed has and no conversion is asked). */
  load(name: string, options?: LoadOptions): Tensor;
  /** Drop the file mappings (tensors already loaded stay valid). */
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
    default:
      return 'i32';
  }
}
