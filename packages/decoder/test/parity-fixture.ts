// Test helper: reads test/fixtures/parity.safetensors (made by test/make-fixtures.py) and compares arrays.
import * as path from 'path';
import { readSafetensors, type TensorData } from '@dnd/core';
import type { DecoderConfig } from '../src/decoder-config';

export const FIXTURE = path.join(__dirname, 'fixtures', 'parity.safetensors');

/** The parity fixture: config, tensors by name, metadata. */
export function loadParityFixture(): { config: DecoderConfig; t: Map<string, TensorData>; meta: Record<string, string> } {
  const { tensors, metadata } = readSafetensors(FIXTURE);
  const t = new Map<string, TensorData>();
  for (const [k, v] of tensors) t.set(k, { data: v.data as Float32Array, shape: v.shape });
  return { config: { features: JSON.parse(metadata.features!), kernelSize: Number(metadata.kernel_size) }, t, meta: metadata };
}

export function prefixed(t: Map<string, TensorData>, prefix: string): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  for (const [k, v] of t) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

