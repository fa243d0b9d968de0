// The tfjs side of `pnpm bench runtime`: matmul, a LoRA linear forward+backward at SmolLM2-135M shapes, and a
// conv2d forward+backward at decoder-like shapes, on one backend (argv[2]); prints one JSON line.
// Not a test and not the PyTorch side (bench_runtime_torch.py); tools/bench/runtime.sh runs both and writes the table.
//
// Dimensions: T tokens, IN/OUT linear widths, R LoRA rank, B batch, H/W height/width, CIN/COUT channels, K kernel.
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '@dnd/core';

interface Spec { matmul: number[]; lora: { T: number; IN: number; OUT: number; R: number }; conv: { B: number; H: number; W: number; CIN: number; COUT: number; K: number }; reps: number; warmup: number; skip: string[] }
const backend = process.argv[2] as BackendName;
const spec = JSON.parse(process.argv[3]!) as Spec;

function time(fn: () => tf.Tensor[], reps: number, warmup: number): number {
  const once = (): number => {
    const t0 = performance.now();
    const out = fn();
    for (const t of out) t.dataSync(); // wait for the values, whatever the backend
    const ms = performance.now() - t0;
    tf.dispose(out);
    return ms / 1000;
  };
  for (let i = 0; i < warmup; i++) once();
  const s = Array.from({ length: reps }, once).sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const info = await initBackend(backend, () => undefined);
  const rows: Array<{ name: string; flop: number; seconds: number | null; note?: string }> = [];
  const run = (name: string, flop: number, fn: () => tf.Tensor[]): void => {
    if (spec.skip.includes(name)) { rows.push({ name, flop, seconds: null, note: 'skipped on this backend (minutes per run)' }); return; }
    rows.push({ name, flop, seconds: time(fn, spec.reps, spec.warmup) });
  };
  for (const n of spec.matmul) {
    const a = tf.randomNormal([n, n]); // [n, n]
    const b = tf.randomNormal([n, n]); // [n, n]
    run(`matmul ${n}^3`, 2 * n ** 3, () => [tf.matMul(a, b)]);
    tf.dispose([a, b]);
  }
  {
    const { T, IN, OUT, R } = spec.lora;
    const x = tf.randomNormal([T, IN]); // [T, IN]
    const w = tf.mul(tf.randomNormal([IN, OUT]), 0.04); // [IN, OUT] frozen
    const A = tf.mul(tf.randomNormal([R, IN]), 0.04); // [R, IN] PEFT lora_A
    const B = tf.mul(tf.randomNormal([OUT, R]), 0.04); // [OUT, R] PEFT lora_B
    const g = tf.randomNormal([T, OUT]); // [T, OUT] upstream gradient
    const scale = 2;
    const f = (xx: tf.Tensor, aa: tf.Tensor, bb: tf.Tensor): tf.Tensor => tf.add(tf.matMul(xx, w), tf.mul(tf.matMul(tf.matMul(xx, aa, false, true), bb, false, true), scale));
    const flop = 4 * T * IN * OUT + 6 * T * R * (IN + OUT);
    run(`LoRA linear fwd+bwd [${T},${IN}]x[${IN},${OUT}] r=${R}`, flop, () => tf.tidy(() => {
      const y = f(x, A, B);
      return [y, ...tf.grads((xx, aa, bb) => f(xx!, aa!, bb!))([x, A, B], g)];
    }));
    tf.dispose([x, w, A, B, g]);
  }
  {
    const { B, H, W, CIN, COUT, K } = spec.conv;
    const x = tf.randomNormal([B, H, W, CIN]) as tf.Tensor4D; // [B, H, W, CIN]
    const k = tf.mul(tf.randomNormal([K, K, CIN, COUT]), 0.05) as tf.Tensor4D; // [K, K, CIN, COUT]
    const g = tf.randomNormal([B, H, W, COUT]); // [B, H, W, COUT]
    const flop = 3 * 2 * B * H * W * K * K * CIN * COUT;
    run(`conv2d fwd+bwd [${B},${H},${W},${CIN}] k${K} -> ${COUT} same`, flop, () => tf.tidy(() => {
      const y = tf.conv2d(x, k, 1, 'same');
      return [y, ...tf.grads((xx, kk) => tf.conv2d(xx as tf.Tensor4D, kk as tf.Tensor4D, 1, 'same'))([x, k], g)];
    }));
    tf.dispose([x, k, g]);
  }
  process.stdout.write(JSON.stringify({ backend: info.name, patchedKernels: info.patchedKernels, versions: info.versions, rows }) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
