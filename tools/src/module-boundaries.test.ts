// Proves the dependency direction is enforced, not just documented: plants wrong imports in real
// package sources and checks that the lint rule rejects them (and accepts the allowed direction).
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';

const root = path.resolve(__dirname, '../..');

async function lintPlanted(pkgDir: string, source: string): Promise<string[]> {
  const file = path.join(root, pkgDir, 'src', `planted-${process.pid}.ts`);
  fs.writeFileSync(file, source);
  try {
    // The real eslint CLI with the workspace config (exit code 1 just means "problems found").
    let out: string;
    try {
      out = execFileSync(path.join(root, 'node_modules/.bin/eslint'), ['--format', 'json', file], { cwd: root, encoding: 'utf8' });
    } catch (e) {
      out = (e as { stdout: string }).stdout;
    }
    const [result] = JSON.parse(out) as Array<{ messages: Array<{ ruleId: string; message: string }> }>;
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

describe('module boundaries', () => {
  it('rejects a sibling import (lm -> encoder)', async () => {
    const msgs = await lintPlanted('packages/lm', "import { CORE_VERSION } from '@dnd/encoder';\nexport const x = CORE_VERSION;\n");
    expect(msgs.some((m) => m.startsWith('@nx/enforce-module-boundaries'))).toBe(true);
  });

  it('rejects an upward import (core -> lm)', async () => {
    const msgs = await lintPlanted('packages/core', "import * as lm from '@dnd/lm';\nexport const x = lm;\n");
    expect(msgs.some((m) => m.startsWith('@nx/enforce-module-boundaries'))).toBe(true);
  });

  it('rejects a step importing a sibling step (decoder -> dataset)', async () => {
    const msgs = await lintPlanted('packages/decoder', "import * as ds from '@dnd/dataset';\nexport const x = ds;\n");
    expect(msgs.some((m) => m.startsWith('@nx/enforce-module-boundaries'))).toBe(true);
  });

  it('rejects a deep import into another package', async () => {
    const msgs = await lintPlanted('packages/lm', "import { sizeOf } from '@dnd/core/src/tensor-data';\nexport const x = sizeOf;\n");
    expect(msgs.length).toBeGreaterThan(0);
    expect(msgs.some((m) => m.startsWith('no-restricted-imports') || m.startsWith('@nx/enforce-module-boundaries'))).toBe(true);
  });

  it('accepts the allowed direction (lm -> core)', async () => {
    const msgs = await lintPlanted('packages/lm', "import { sizeOf } from '@dnd/core';\nexport const x = sizeOf([2, 3]);\n");
    expect(msgs).toEqual([]);
  });
});
