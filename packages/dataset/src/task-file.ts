// Parses one task-set file (a JSON array, JSONL, or Parquet of {instruction, input, output, answer} records)
// into validated TaskItems, reporting file and line for bad records (BadInputError: never retried).
// Not the set/alias/split logic (task-set.ts).
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BadInputError } from '@dnd/core';

/** One instruction-format record. `instruction` is the only text used to condition the generator. */
export interface TaskItem {
  instruction: string;
  /** Optional extra context (LLM-Adapters' `input`); '' when absent. */
  input: string;
  /** The full target text the LoRA is trained on, e.g. "the correct answer is answer2"; '' when unlabeled. */
  output: string;
  /** The short gold label scored by the evaluator, e.g. "answer2"; '' when unlabeled. */
  answer: string;
}

export type TaskFileFormat = 'json' | 'jsonl' | 'parquet';

/** A parsed file: its items, what was skipped, and its digest (recorded in manifests). */
export interface TaskFile {
  file: string;
  format: TaskFileFormat;
  items: TaskItem[];
  /** Records dropped because `skipBad` was set. */
  skipped: number;
  /** The first few skip reasons, "file:line: why". */
  problems: string[];
  sha256: string;
}

export interface ReadTaskFileOptions {
  /** Skip malformed lines / records (counting them) instead of failing on the first one. */
  skipBad?: boolean;
}

const FIELDS = ['instruction', 'input', 'output', 'answer'] as const;

/** The format a file name implies, or null for an unknown extension. */
export function taskFileFormat(file: string): TaskFileFormat | null {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  return null;
}

/** Validates one raw record; returns the item or a reason it is bad. */
function toItem(raw: unknown): TaskItem | string {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return `expected an object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`;
  const r = raw as Record<string, unknown>;
  const out: Partial<TaskItem> = {};
  for (const f of FIELDS) {
    const v = r[f];
    if (v === undefined || v === null) out[f] = '';
    else if (typeof v === 'string') out[f] = v;
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out[f] = String(v);
    else return `field "${f}" must be a string, got ${typeof v}`;
  }
  if (!out.instruction || out.instruction.trim() === '') return 'field "instruction" is missing or empty';
  return out as TaskItem;
}

/** 1-based line of a character offset in `text`. */
function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function collect(file: string, records: Iterable<[unknown, string]>, opts: ReadTaskFileOptions, format: TaskFileFormat, sha256: string): TaskFile {
  const items: TaskItem[] = [];
  const problems: string[] = [];
  let skipped = 0;
  for (const [raw, where] of records) {
    const item = toItem(raw);
    if (typeof item === 'string') {
      const msg = `${file}:${where}: ${item}`;
      if (!opts.skipBad) throw new BadInputError(`task file ${msg} (pass skipBad / --skip-bad to skip bad records)`);
      skipped++;
      if (problems.length < 10) problems.push(msg);
      continue;
    }
    items.push(item);
  }
  return { file, format, items, skipped, problems, sha256 };
}

function* jsonlRecords(file: string, text: string, opts: ReadTaskFileOptions, bad: { n: number; problems: string[] }): Iterable<[unknown, string]> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      const msg = `${file}:${i + 1}: malformed JSON line (${(e as Error).message})`;
      if (!opts.skipBad) throw new BadInputError(`task file ${msg} (pass skipBad / --skip-bad to skip bad lines)`);
      bad.n++;
      if (bad.problems.length < 10) bad.problems.push(msg);
      continue;
    }
    yield [raw, String(i + 1)];
  }
}

/**
 * Reads a task-set file. JSON arrays must parse as a whole (a syntax error fails with its line even with
 * skipBad); JSONL lines and individual records can be skipped with `skipBad`.
 * @example const f = await readTaskFile('/data/piqa/test.json'); f.items[0].instruction;
 */
export async function readTaskFile(file: string, opts: ReadTaskFileOptions = {}): Promise<TaskFile> {
  const format = taskFileFormat(file);
  if (!format) throw new BadInputError(`task file ${file}: unknown extension (expected .json, .jsonl, .ndjson or .parquet)`);
  if (!fs.existsSync(file)) throw new BadInputError(`task file ${file}: not found`);
  const bytes = await fs.promises.readFile(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (format === 'parquet') return readParquet(file, bytes, opts, sha256);
  const text = bytes.toString('utf8');
  if (format === 'jsonl') {
    const bad = { n: 0, problems: [] as string[] };
    const out = collect(file, jsonlRecords(file, text, opts, bad), opts, format, sha256);
    out.skipped += bad.n;
    out.problems = [...bad.problems, ...out.problems].slice(0, 10);
    return out;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const where = m ? `${lineOf(text, Number(m[1]))}` : '?';
    throw new BadInputError(`task file ${file}:${where}: malformed JSON (${(e as Error).message}); a JSON array cannot be partly skipped`);
  }
  if (!Array.isArray(raw)) throw new BadInputError(`task file ${file}: expected a JSON array of records, got ${typeof raw}`);
  return collect(file, raw.map((r, i) => [r, `item ${i}`] as [unknown, string]), opts, format, sha256);
}

async function readParquet(file: string, bytes: Buffer, opts: ReadTaskFileOptions, sha256: string): Promise<TaskFile> {
  const { parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({ file: ab, compressors, columns: undefined });
  } catch (e) {
    throw new BadInputError(`task file ${file}: not a readable Parquet file (${(e as Error).message})`);
  }
  return collect(file, rows.map((r, i) => [r, `row ${i + 1}`] as [unknown, string]), opts, 'parquet', sha256);
}
