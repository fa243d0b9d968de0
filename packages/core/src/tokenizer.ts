// A model's tokenizer from a local HF directory (tokenizer.json + tokenizer_config.json) through
// @huggingface/tokenizers, never fetching anything; its chat template is rendered by chat-template.ts
// (@huggingface/jinja). Not a tokenizer implementation.
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer } from '@huggingface/tokenizers';
import { applyChatTemplate, type ChatMessage, type ChatTemplateTokens } from './chat-template';

/** The tokenizer contract the LM uses (an HF tokenizer, or a byte tokenizer for random test models). */
export interface TextTokenizer {
  /** Token ids of `text`; special tokens (BOS) only when `addSpecialTokens` (default false, lm-eval-harness style). */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`; special tokens dropped when `skipSpecialTokens` (default true). */
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** Size of the id space including added tokens. */
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  readonly padTokenId: number | null;
  /** The raw chat template string, or null. */
  readonly chatTemplate: string | null;
  /** The special-token strings of tokenizer_config.json (what a chat template prints as `bos_token`, ...). */
  readonly specialTokens?: ChatTemplateTokens;
}


function readJsonObject(file: string, required: boolean): Record<string, any> | null {
  if (!fs.existsSync(file)) {
    if (required) throw new Error(`${file}: not found`);
    return null;
  }
  let v: unknown;
  try { v = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { throw new Error(`${file}: invalid JSON (${(e as Error).message})`); }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${file}: expected a JSON object`);
  return v as Record<string, any>;
}

function tokenContent(t: unknown): string | null {
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && typeof (t as any).content === 'string') return (t as any).content;
  return null;
}

/** An HF tokenizer loaded from disk. */
export class HfTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  readonly padTokenId: number | null;
  readonly chatTemplate: string | null;
  readonly specialTokens: ChatTemplateTokens;

  constructor(private readonly tok: Tokenizer, config: Record<string, any>, readonly dir: string) {
    const vocab = tok.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    const id = (key: string): number | null => {
      const s = tokenContent(config[key]);
      if (s === null) return null;
      const v = tok.token_to_id(s);
      if (v === undefined) throw new Error(`${path.join(dir, 'tokenizer_config.json')}: ${key} ${JSON.stringify(s)} is not in the vocabulary`);
      return v;
    };
    this.specialTokens = {};
    for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const) {
      const v = tokenContent(config[k]);
      if (v !== null) this.specialTokens[k] = v;
    }
    this.bosTokenId = id('bos_token');
    const eos = id('eos_token');
    this.eosTokenIds = eos === null ? [] : [eos];
    this.padTokenId = id('pad_token');
    // transformers >= 4.43 may write the template to chat_template.jinja instead of tokenizer_config.json.
    const jinja = path.join(dir, 'chat_template.jinja');
    const ct = config.chat_template ?? (fs.existsSync(jinja) ? fs.readFileSync(jinja, 'utf8') : null);
    this.chatTemplate = typeof ct === 'string' ? ct : Array.isArray(ct) ? (ct.find((t: any) => t?.name === 'default')?.template ?? null) : null;
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? false }).ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tok.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? true, clean_up_tokenization_spaces: false });
  }

  /**
   * The tokenizer's own chat template applied to `messages` (see chat-template.ts), with its special tokens.
   * @example tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], true) // '<|im_start|>system\n...<|im_start|>assistant\n'
   */
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt: boolean): string {
    return applyChatTemplate(this.chatTemplate, messages, addGenerationPrompt, this.specialTokens);
  }

  /** Token id of a token string, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}

/**
 * Loads `<dir>/tokenizer.json` (+ tokenizer_config.json when present) without any network access.
 * @example const tok = loadHfTokenizer(dir); tok.encode('Hello world') // [19556, 905]
 */
export function loadHfTokenizer(dir: string): HfTokenizer {
  const tjFile = path.join(dir, 'tokenizer.json');
  const tj = readJsonObject(tjFile, true)!;
  if (!tj.model || typeof tj.model !== 'object') throw new Error(`${tjFile}: no "model" section; not a tokenizers-library tokenizer.json`);
  const config = readJsonObject(path.join(dir, 'tokenizer_config.json'), false) ?? {};
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tj, config);
  } catch (e) {
    throw new Error(`${tjFile}: cannot build the tokenizer (${(e as Error).message})`);
  }
  return new HfTokenizer(tok, config, dir);
}
