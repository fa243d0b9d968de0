// The BERT WordPiece tokenizer from an HF directory (`tokenizer.json`, or `vocab.txt` alone), with the
// method's fixed-length batching: truncate to L, add [CLS]/[SEP], pad to L. Not the model (bert-model.ts).
//
// Dimensions: N = prompts, L = padded length.
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer } from '@huggingface/tokenizers';

/** A prompt batch as token ids at a fixed length, row-major. */
export interface TokenBatch {
  ids: Int32Array; // [N, L]
  mask: Uint8Array; // [N, L]
  /** Indices of prompts longer than L (truncated). */
  truncatedIndices: number[];
}

/** The BERT special tokens (HF names). */
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** An HF `tokenizer.json` for a BERT WordPiece vocabulary (what `BertTokenizerFast` writes). */
export function bertTokenizerJson(vocab: string[], lowercase: boolean): Record<string, unknown> {
  const ids = new Map(vocab.map((t, i) => [t, i] as const));
  for (const s of ['[PAD]', '[UNK]', '[CLS]', '[SEP]']) {
    if (!ids.has(s)) throw new Error(`WordPiece vocab: special token ${s} is missing`);
  }
  const cls = ids.get('[CLS]')!;
  const sep = ids.get('[SEP]')!;
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: SPECIALS.filter((s) => ids.has(s)).map((s) => ({
      id: ids.get(s), content: s, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(ids) },
  };
}

/** The character-level vocabulary of random test BERTs (same list as test/make-fixtures.py). */
export function charVocab(): string[] {
  const chars = [...'abcdefghijklmnopqrstuvwxyz0123456789', ...'.,!?\'-:;()"'];
  return [...SPECIALS, ...chars, ...chars.filter((c) => /[a-z0-9]/.test(c)).map((c) => `##${c}`)];
}

/** WordPiece tokenizer with fixed-length batch encoding (HF `padding="max_length", truncation=True`). */
export class WordPieceTokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  private readonly prefix: number[];
  private readonly suffix: number[];

  constructor(private readonly tok: Tokenizer, padToken = '[PAD]') {
    this.vocabSize = tok.get_vocab(true).size;
    const pad = tok.token_to_id(padToken);
    if (pad === undefined) throw new Error(`WordPiece tokenizer: pad token ${padToken} is not in the vocabulary`);
    this.padId = pad;
    // The post-processor's single-sequence template, found once: [CLS] A [SEP] for BERT.
    const probe = 'a';
    const bare = tok.encode(probe, { add_special_tokens: false }).ids;
    const full = tok.encode(probe).ids;
    const at = full.findIndex((_, i) => bare.every((id, j) => full[i + j] === id));
    if (at < 0) throw new Error('WordPiece tokenizer: post-processor template does not contain the sequence');
    this.prefix = full.slice(0, at);
    this.suffix = full.slice(at + bare.length);
  }

  /** Number of special tokens added around one sequence (2 for BERT). */
  get specialCount(): number { return this.prefix.length + this.suffix.length; }

  /** Token ids of one text with specials, untruncated. */
  encodeOne(text: string): number[] {
    return [...this.prefix, ...this.tok.encode(text, { add_special_tokens: false }).ids, ...this.suffix];
  }

  /**
   * Encodes a batch at exactly L positions: content truncated to L - specials, then [CLS] .. [SEP], then [PAD].
   * @example tok.encodeBatch(['hi there'], 8).ids // [101, 7632, 2045, 102, 0, 0, 0, 0]
   */
  encodeBatch(texts: string[], L: number): TokenBatch {
    const room = L - this.specialCount;
    if (room < 1) throw new Error(`WordPiece tokenizer: maxLength ${L} leaves no room beside ${this.specialCount} special tokens`);
    const ids = new Int32Array(texts.length * L).fill(this.padId);
    const mask = new Uint8Array(texts.length * L);
    const truncatedIndices: number[] = [];
    texts.forEach((text, n) => {
      if (typeof text !== 'string') throw new Error(`WordPiece tokenizer: prompt ${n} is not a string (${typeof text})`);
      let body = this.tok.encode(text, { add_special_tokens: false }).ids;
      if (body.length > room) { body = body.slice(0, room); truncatedIndices.push(n); }
      const row = [...this.prefix, ...body, ...this.suffix];
      ids.set(row, n * L);
      mask.fill(1, n * L, n * L + row.length);
    });
    return { ids, mask, truncatedIndices };
  }

  /** Text of token ids (specials kept). */
  decode(ids: number[]): string { return this.tok.decode(ids, { skip_special_tokens: false }); }
}

/** Builds a tokenizer from a `tokenizer.json` object (and `tokenizer_config.json` object). */
export function tokenizerFromJson(json: Record<string, unknown>, config: Record<string, unknown> = {}): WordPieceTokenizer {
  const model = json.model as { type?: string } | undefined;
  if (!model || model.type !== 'WordPiece') throw new Error(`WordPiece tokenizer: tokenizer.json model type is ${JSON.stringify(model?.type)}, expected "WordPiece"`);
  return new WordPieceTokenizer(new Tokenizer(json, config), typeof config.pad_token === 'string' ? config.pad_token : '[PAD]');
}

/**
 * Loads the tokenizer of an HF BERT directory: `tokenizer.json`, else `vocab.txt` (+ `tokenizer_config.json`).
 * @example const tok = loadWordPieceTokenizer('/cache/models/all-MiniLM-L6-v2');
 */
export function loadWordPieceTokenizer(dir: string): WordPieceTokenizer {
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const config = fs.existsSync(cfgFile) ? JSON.parse(fs.readFileSync(cfgFile, 'utf8')) : {};
  const jsonFile = path.join(dir, 'tokenizer.json');
  if (fs.existsSync(jsonFile)) return tokenizerFromJson(JSON.parse(fs.readFileSync(jsonFile, 'utf8')), config);
  const vocabFile = path.join(dir, 'vocab.txt');
  if (fs.existsSync(vocabFile)) {
    const vocab = fs.readFileSync(vocabFile, 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
    while (vocab.length && vocab[vocab.length - 1] === '') vocab.pop();
    return tokenizerFromJson(bertTokenizerJson(vocab, config.do_lower_case ?? true), config);
  }
  throw new Error(`WordPiece tokenizer: ${dir} has no vocabulary (neither tokenizer.json nor vocab.txt)`);
}
