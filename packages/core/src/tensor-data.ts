// The typed-array contract that packages hand each other instead of tensors (house style: tensors
// never cross package APIs). Not a tensor library: just data, shape and checks.

/** A dense fp32 array with its shape, row-major. */
export interface TensorData {
  data: Float32Array;
  shape: number[];
}

/** Number of elements a shape holds. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Checks that `t.data.length` matches `t.shape` (and optionally an expected shape, -1 = any).
 * @example assertShape({ data: new Float32Array(6), shape: [2, 3] }, [-1, 3], 'decoder input');
 */
export function assertShape(t: TensorData, expected: readonly number[] | null, what: string): void {
  if (t.data.length !== sizeOf(t.shape)) {
    throw new Error(`${what}: data has ${t.data.length} values but shape [${t.shape}] needs ${sizeOf(t.shape)}`);
  }
  if (expected) {
    const ok = expected.length === t.shape.length && expected.every((d, i) => d === -1 || d === t.shape[i]);
    if (!ok) throw new Error(`${what}: expected shape [${expected}], got [${t.shape}]`);
  }
}
