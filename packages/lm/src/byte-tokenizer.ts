// A byte-level tokenizer for random test models: id = UTF-8 byte (0..255), then BOS 256, EOS 257, PAD 258.
// Lets other packages test against a tiny random LM without any tokenizer file. Not for real models.
import type { TextTokenizer } from '@dnd/core';

/** UTF-8 bytes as ids; specials after the 256 byte ids. */
export class ByteTokenizer implements TextTokenizer {
  readonly vocabSize = 259;
  readonly bosTokenId = 256;
  readonly eosTokenIds = [257];
  readonly padTokenId = 258;
  readonly chatTemplate = null;

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const ids = [...Buffer.from(text, 'utf8')];
    return opts.addSpecialTokens ? [this.bosTokenId, ...ids] : ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    const names: Record<number, string> = { 256: '<s>', 257: '</s>', 258: '<pad>' };
    let out = '';
    let bytes: number[] = [];
    const flush = (): void => { out += Buffer.from(bytes).toString('utf8'); bytes = []; };
    for (const id of ids) {
      if (id < 256) { bytes.push(id); continue; }
      flush();
      if (!skip) out += names[id] ?? '';
    }
    flush();
    return out;
  }
}
