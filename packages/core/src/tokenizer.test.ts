// Tokenizer loading errors. Token-id parity lives in @dnd/lm's tests; chat templates in chat-template.test.ts.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadHfTokenizer } from './tokenizer';

it('names the file when tokenizer.json is missing or not a tokenizer', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-'));
  try {
    expect(() => loadHfTokenizer(dir)).toThrow(`${path.join(dir, 'tokenizer.json')}: not found`);
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"version": "1.0"}');
    expect(() => loadHfTokenizer(dir)).toThrow(/tokenizer\.json: no "model" section/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
