// Tensor backend choice at start-up: tfjs-node-gpu, then tfjs-node, then wasm, then the pure-JS cpu
// backend, overridable with DND_BACKEND. A missing optional backend is a fallback, never a crash.
// Not the kernels themselves: wasm gap-fillers live in wasm-kernels.ts.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BadInputError } from './bad-input';
import { installRuntimeKernels } from './wasm-kernels';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** What we chose: 'tensorflow-gpu' means tfjs-node-gpu; 'tensorflow' means tfjs-node on the CPU. */
  name: BackendName;
  /** tf.getBackend() after the choice. */
  tfBackend: string;
  /** Why earlier candidates were skipped. */
  skipped: Array<{ name: BackendName; reason: string }>;
  /** True when DND_BACKEND (or the argument) forced the choice. */
  forced: boolean;
  /** Kernels replaced by wasm-kernels.ts on this backend (empty on tensorflow). */
  patchedKernels: string[];
  /** Library versions: tfjs-core, and the TensorFlow C library where a tfjs-node binding is in use. */
  versions: { tfjsCore: string; libtensorflow: string | null };
}

let chosen: Promise<BackendInfo> | null = null;

// Requiring a tfjs-node package whose binding was never built registers its kernels and then throws,
// which leaves a half-registered 'tensorflow' backend behind: check for the binding file first.
function requireNodeBinding(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): void {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`${pkg} is not installed`);
  }
  const binding = path.join(dir, 'lib', 'napi-v8', 'tfjs_binding.node');
  const script = pkg === '@tensorflow/tfjs-node-gpu' ? 'infra/tfjs-node-gpu.sh' : 'infra/tfjs-node.sh';
  if (!fs.existsSync(binding)) throw new Error(`${pkg} is installed but its binding was not built (${binding}); see ${script}`);
  require(pkg);
}

// tfjs-node-gpu and tfjs-node both register 'tensorflow' and cannot share a process, so a GPU build on a
// machine without a GPU must be skipped before it is loaded (it would run on the CPU and block tfjs-node).
function assertNvidiaGpuVisible(): void {
  const gpus = '/proc/driver/nvidia/gpus';
  const seen = (fs.existsSync(gpus) && fs.readdirSync(gpus).length > 0) || fs.existsSync('/dev/nvidia0');
  if (!seen) throw new Error(`no NVIDIA GPU visible (${gpus} and /dev/nvidia0 absent)`);
}

/** Loads and starts one backend (no fallback, no kernel patches); throws why it cannot. Exported for tests. */
export async function tryBackend(name: BackendName): Promise<void> {
  switch (name) {
    case 'tensorflow-gpu': {
      assertNvidiaGpuVisible();
      requireNodeBinding('@tensorflow/tfjs-node-gpu');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node-gpu loaded but its backend did not start');
      return;
    }
    case 'tensorflow': {
      requireNodeBinding('@tensorflow/tfjs-node');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node loaded but its backend did not start');
      return;
    }
    case 'wasm': {
      require('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not start');
      return;
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend did not start');
      return;
    }
  }
}

/**
 * Chooses and starts the tensor backend once per process; later calls return the same choice.
 * @param force a backend name, else `process.env.DND_BACKEND`, else the first that works in BACKEND_ORDER.
 * @example const { name } = await initBackend(); // 'tensorflow' where the C-library binding is built
 */
export function initBackend(force?: BackendName, log: (msg: string) => void = (m) => process.stderr.write(m + '\n')): Promise<BackendInfo> {
  if (chosen) return chosen;
  chosen = (async () => {
    const want = force ?? (process.env['DND_BACKEND'] as BackendName | undefined);
    if (want && !BACKEND_ORDER.includes(want)) {
      throw new BadInputError(`DND_BACKEND must be one of ${BACKEND_ORDER.join(', ')}, got "${want}"`);
    }
    const candidates = want ? [want] : [...BACKEND_ORDER];
    const skipped: BackendInfo['skipped'] = [];
    for (const name of candidates) {
      try {
        await tryBackend(name);
        const patchedKernels = name === 'wasm' || name === 'cpu' ? installRuntimeKernels(name) : [];
        const info: BackendInfo = { name, tfBackend: tf.getBackend(), skipped, forced: Boolean(want), patchedKernels, versions: backendVersions() };
        log(`[dnd] tensor backend: ${name}${skipped.length ? ` (skipped ${skipped.map((s) => s.name).join(', ')})` : ''}`);
        return info;
      } catch (e) {
        skipped.push({ name, reason: (e as Error).message.split('\n')[0]! });
      }
    }
    chosen = null;
    throw new Error(`no tensor backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
  })();
  return chosen;
}

// Plain strings only, so BackendInfo stays JSON-serializable for run manifests.
function backendVersions(): BackendInfo['versions'] {
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: unknown } }).binding;
  return { tfjsCore: tf.version_core, libtensorflow: typeof binding?.TF_Version === 'string' ? binding.TF_Version : null };
}

/** The backend chosen so far, or null before initBackend() resolved. */
export async function currentBackend(): Promise<BackendInfo | null> {
  return chosen ? chosen.catch(() => null) : null;
}
