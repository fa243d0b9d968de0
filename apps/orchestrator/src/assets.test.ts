// Model references: bare names under $DND_CACHE/models, paths, and the provisioning hint when one is missing.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { modelsDir, resolveModelDir } from './assets';

describe('resolveModelDir', () => {
  const saved = process.env['DND_CACHE'];
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-assets-'));
  beforeAll(() => { process.env['DND_CACHE'] = cache; });
  afterAll(() => { if (saved === undefined) delete process.env['DND_CACHE']; else process.env['DND_CACHE'] = saved; });

  it('finds a bare name under $DND_CACHE/models and a path as given', () => {
    const dir = path.join(cache, 'models', 'tiny');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    expect(modelsDir()).toBe(path.join(cache, 'models'));
    expect(resolveModelDir('tiny', 'collectSet.model')).toBe(dir);
    expect(resolveModelDir(dir, 'collectSet.model')).toBe(dir);
  });

  it('a missing model is a BadInputError that names the field and how to provision it', () => {
    let err: Error | undefined;
    try { resolveModelDir('smollm2-135m-instruct', 'collectSet.model'); } catch (e) { err = e as Error; }
    expect(err?.name).toBe('BadInputError');
    expect(err?.message).toBe(`collectSet.model: no model at ${path.join(cache, 'models', 'smollm2-135m-instruct')} (config.json missing); provision it with \`bash infra/assets-smollm2.sh\``);
    expect(() => resolveModelDir('', 'trainGenerator.encoder')).toThrow('trainGenerator.encoder must be a model directory or a name under');
  });
});
