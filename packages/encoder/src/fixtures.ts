// Where the committed test fixtures of @dnd/encoder live, for other packages' tests (a tiny random BERT
// as an HF directory). Not a loader: pass the path to loadTextEncoder / loadBertEncoder.
import * as fs from 'fs';
import * as path from 'path';

/**
 * Path of `packages/encoder/test/fixtures/tiny-bert` (made by test/make-fixtures.py): a 2-layer, 32-wide random
 * BERT with a character-level WordPiece vocabulary (88 tokens), max 64 positions. Works from src and from dist.
 * @example const enc = await loadTextEncoder(tinyBertFixtureDir()); // enc.dim = 32
 */
export function tinyBertFixtureDir(): string {
  const dir = path.resolve(__dirname, '..', 'test', 'fixtures', 'tiny-bert');
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`tiny BERT fixture missing at ${dir} (run packages/encoder/test/make-fixtures.py)`);
  return dir;
}
