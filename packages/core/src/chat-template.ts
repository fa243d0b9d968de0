// Chat templates: a tokenizer's own Jinja `chat_template` rendered through @huggingface/jinja, with the
// variables transformers' apply_chat_template passes (messages, add_generation_prompt, the special tokens,
// raise_exception). Not tokenization (tokenizer.ts) and not a Jinja implementation (the library is one).
import { Template } from '@huggingface/jinja';

/** One chat message for `applyChatTemplate`. */
export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

/** The special tokens a template may print, as transformers names them (`bos_token`, `eos_token`, ...). */
export interface ChatTemplateTokens {
  bos_token?: string;
  eos_token?: string;
  unk_token?: string;
  pad_token?: string;
}

const parsed = new Map<string, Template>();

/**
 * Renders `messages` with a Jinja chat template as transformers' `apply_chat_template(..., tokenize=False)`
 * does: the template sees `messages`, `add_generation_prompt` and the special tokens, and its
 * `raise_exception(...)` becomes an Error carrying the template's message. ChatML (SmolLM2, Qwen2), Llama-3 and
 * Gemma templates are checked against transformers in chat-template.test.ts.
 * @example applyChatTemplate(tok.chatTemplate, [{ role: 'user', content: 'Hi' }], true, { bos_token: '<|begin_of_text|>' })
 */
export function applyChatTemplate(template: string | null, messages: ChatMessage[], addGenerationPrompt: boolean, tokens: ChatTemplateTokens = {}): string {
  if (!template) throw new Error('applyChatTemplate: the tokenizer has no chat_template (tokenizer_config.json or chat_template.jinja)');
  let t = parsed.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new Error(`applyChatTemplate: the chat template does not parse (${(e as Error).message}): ${JSON.stringify(template.slice(0, 80))}...`);
    }
    parsed.set(template, t);
  }
  try {
    return t.render({ messages, add_generation_prompt: addGenerationPrompt, ...tokens });
  } catch (e) {
    throw new Error(`applyChatTemplate: ${(e as Error).message}`);
  }
}
