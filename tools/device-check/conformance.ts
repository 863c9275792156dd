// The cuda-kernels conformance files as one program (vitest replaced by vitest-shim.mjs). An argument, a regular
// expression, keeps the tests whose "describe > it" name matches, e.g. `cuda` for the GPU's blocks.
import '../../packages/cuda-kernels/test/conformance/op-table.test.ts';
import '../../packages/cuda-kernels/test/conformance/ops.test.ts';
import '../../packages/cuda-kernels/test/conformance/errors.test.ts';
import { runAll } from './vitest-shim.mjs';

const only = process.argv[2] ? new RegExp(process.argv[2]) : undefined;
process.exitCode = (await runAll(only)) ? 1 : 0;
