// Versions of the @dnd/* packages and the Temporal SDK as this process loaded them, for run manifests.
// Not a build step: each package.json is found by walking up from the module's resolved entry.
import * as fs from 'fs';
import * as path from 'path';

const PACKAGES = ['@dnd/core', '@dnd/lm', '@dnd/encoder', '@dnd/dataset', '@dnd/decoder', '@dnd/evaluator', '@temporalio/worker'];

function findPackageJson(entry: string, name: string): string | null {
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const f = path.join(dir, 'package.json');
    if (fs.existsSync(f)) {
      const pkg = JSON.parse(fs.readFileSync(f, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? null;
    }
  }
  return null;
}

/** `{ '@dnd/core': '0.1.0', ..., '@dnd/orchestrator': '0.1.0', '@temporalio/worker': '1.24.0' }`; 'unresolved' where lookup failed. */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PACKAGES) {
    try {
      out[name] = findPackageJson(require.resolve(name), name) ?? 'unresolved';
    } catch {
      out[name] = 'unresolved';
    }
  }
  out['@dnd/orchestrator'] = findPackageJson(__filename, '@dnd/orchestrator') ?? 'unresolved';
  return out;
}
