// Prompts as users hand them to `dnd generate` and `dnd serve`: a text file (one prompt per line), JSONL
// (one JSON string or {instruction} record per line), JSON (an array of strings or of instruction-format
// records, the shipped sets' format), or stdin; bytes must be UTF-8. Only the instruction conditions the
// generator (as in the pipeline: inputs and answers never do). Not the task-set loader (@dnd/dataset).
import * as fs from 'fs';
import * as path from 'path';
import { BadInputError } from '@dnd/core';

/** How a prompt file is laid out. */
export type PromptFormat = 'text' | 'jsonl' | 'json';
export const PROMPT_FORMATS: readonly PromptFormat[] = ['text', 'jsonl', 'json'];

const BY_EXTENSION: Record<string, PromptFormat> = { '.txt': 'text', '.text': 'text', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json' };

/** Decodes UTF-8 strictly (anything else is a BadInputError), dropping a BOM. */
export function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BadInputError(`${where}: not UTF-8 text`);
  }
}

/** The format of `file` from its extension ('-' = stdin: sniffed from the content). */
export function promptFormatOf(file: string, text: string | null = null): PromptFormat {
  if (file === '-' && text !== null) {
    const t = text.trimStart();
    if (t.startsWith('[')) return 'json';
    const lines = t.split(/\r?\n/).filter((l) => l.trim());
    return lines.length > 0 && lines.every((l) => /^\s*["{]/.test(l)) ? 'jsonl' : 'text';
  }
  const f = BY_EXTENSION[path.extname(file).toLowerCase()];
  if (!f) throw new BadInputError(`${file}: unknown prompt-file format "${path.extname(file) || '(no extension)'}"; use .txt (one prompt per line), .jsonl or .json (instruction format), or --format text|jsonl|json`);
  return f;
}

function promptOf(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { instruction?: unknown }).instruction === 'string') return (v as { instruction: string }).instruction;
  throw new BadInputError(`${where}: expected a prompt string or an {"instruction": ...} record, got ${JSON.stringify(v)?.slice(0, 80)}`);
}

/**
 * The prompts of a file's text in `format`; empty prompts are errors, and so is a file with none.
 * @example parsePrompts('Is water wet?\nPick A or B.\n', 'text', 'prompts.txt') // ['Is water wet?', 'Pick A or B.']
 */
export function parsePrompts(text: string, format: PromptFormat, where: string): string[] {
  let prompts: string[];
  if (format === 'text') {
    prompts = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  } else if (format === 'jsonl') {
    prompts = [];
    text.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      let v: unknown;
      try { v = JSON.parse(line); } catch (e) { throw new BadInputError(`${where}:${i + 1}: not a JSON line (${(e as Error).message})`); }
      prompts.push(promptOf(v, `${where}:${i + 1}`));
    });
  } else {
    let v: unknown;
    try { v = JSON.parse(text); } catch (e) { throw new BadInputError(`${where}: not valid JSON (${(e as Error).message})`); }
    if (!Array.isArray(v)) throw new BadInputError(`${where}: expected a JSON array of prompt strings or {"instruction": ...} records`);
    prompts = v.map((x, i) => promptOf(x, `${where}[${i}]`));
  }
  const blank = prompts.findIndex((p) => !p.trim());
  if (blank >= 0) throw new BadInputError(`${where}: prompt ${blank + 1} is empty`);
  if (prompts.length === 0) throw new BadInputError(`${where}: no prompts (an empty file?)`);
  return prompts;
}

/**
 * Reads prompts from a file or stdin ('-'), strictly UTF-8, in `format` or the one its extension names.
 * @example await readPrompts('prompts.jsonl') // ['What is ...?', ...]
 */
export async function readPrompts(file: string, format?: PromptFormat, stdin: NodeJS.ReadableStream = process.stdin): Promise<string[]> {
  let bytes: Buffer;
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
    bytes = Buffer.concat(chunks);
  } else {
    if (!fs.existsSync(file)) throw new BadInputError(`prompt file ${file} not found`);
    bytes = fs.readFileSync(file);
  }
  const where = file === '-' ? 'stdin' : file;
  const text = decodeUtf8(bytes, where);
  if (format && !PROMPT_FORMATS.includes(format)) throw new BadInputError(`--format must be one of ${PROMPT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  return parsePrompts(text, format ?? promptFormatOf(file, text), where);
}
