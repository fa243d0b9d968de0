// Chat templates against transformers: every case of test/fixtures/chat-templates/chat-templates.json (SmolLM2's
// ChatML, Llama-3, Gemma, Phi-3.5; written by make-fixture.py with transformers' apply_chat_template) renders to the
// same string, or fails with the template's own message; SmolLM2's tokenizer renders its own template.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applyChatTemplate, type ChatMessage } from './chat-template';
import { loadHfTokenizer } from './tokenizer';

interface Case { template: string; conversation: string; messages: ChatMessage[]; addGenerationPrompt: boolean; expected?: string; error?: string }
interface Fixture { templates: Array<{ name: string; template: string; special: Record<string, string> }>; cases: Case[] }

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'test', 'fixtures', 'chat-templates', 'chat-templates.json'), 'utf8')) as Fixture;
const SMOL_DIR = path.join(process.env['DND_CACHE'] || path.join(os.homedir(), '.cache', 'dnd'), 'models', 'smollm2-135m-instruct');

describe('chat templates match transformers\' apply_chat_template', () => {
  it('the fixture covers ChatML, Llama-3, Gemma and Phi-3.5, with and without a generation prompt, and errors', () => {
    expect(fixture.templates.map((t) => t.name)).toEqual(['smollm2-chatml', 'llama-3', 'gemma', 'phi-3.5']);
    expect(fixture.cases.length).toBe(32);
    expect(fixture.cases.filter((c) => c.error).length).toBe(4);
  });

  for (const c of fixture.cases) {
    it(`${c.template}: ${c.conversation}${c.addGenerationPrompt ? ' + generation prompt' : ''}`, () => {
      const t = fixture.templates.find((x) => x.name === c.template)!;
      const render = () => applyChatTemplate(t.template, c.messages, c.addGenerationPrompt, t.special);
      if (c.error !== undefined) expect(render).toThrow(c.error);
      else expect(render()).toBe(c.expected);
    });
  }

  it('SmolLM2\'s tokenizer renders its own template (read from its tokenizer_config.json) as transformers does', () => {
    const tok = loadHfTokenizer(SMOL_DIR);
    for (const c of fixture.cases.filter((x) => x.template === 'smollm2-chatml')) {
      expect(tok.applyChatTemplate(c.messages, c.addGenerationPrompt)).toBe(c.expected);
    }
    expect(tok.chatTemplate).toBe(fixture.templates[0]!.template);
  });

  it('no template, or one that does not parse, is an error that says so', () => {
    expect(() => applyChatTemplate(null, [], true)).toThrow(/has no chat_template/);
    expect(() => applyChatTemplate('{% for m in messages %}{{ m.content }', [], true)).toThrow(/does not parse/);
  });
});
