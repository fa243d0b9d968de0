// Chat template rendering (ChatML only) and tokenizer loading errors. Token-id parity lives in @dnd/lm's tests.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applyChatTemplate, loadHfTokenizer } from './tokenizer';

const SMOL = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

it('renders ChatML with the template\'s default system prompt', () => {
  expect(applyChatTemplate(SMOL, [{ role: 'user', content: 'Hi' }], true)).toBe(
    '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  expect(applyChatTemplate(SMOL, [{ role: 'system', content: 'S' }, { role: 'user', content: 'Hi' }], false)).toBe(
    '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n');
  expect(() => applyChatTemplate('{{ bos_token }}{{ message }}', [], true)).toThrow(/only ChatML templates are supported/);
});

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
