// The evaluator's item record (EvalItem) and the converter from the commonsense instruction format
// ({instruction, input, output, answer} with "Answer1: ... Answer format: answer1/answer2") to it.
// Not a dataset loader with splits or caching: callers hand in items; this only parses what scoring needs.
import * as fs from 'fs';
import { BadInputError } from '@dnd/core';

/** How an item's answer is written: answer1..N, true/false, option1..N, solution1..N, or a number (GSM8K-style). */
export type AnswerFormat = 'answerN' | 'trueFalse' | 'optionN' | 'solutionN' | 'numeric';
export const ANSWER_FORMATS: readonly AnswerFormat[] = ['answerN', 'trueFalse', 'optionN', 'solutionN', 'numeric'];

/** One scorable item. */
export interface EvalItem {
  /** Stable id inside its set, e.g. "ARC-Easy/test/17". */
  id: string;
  /** The set's name, e.g. "ARC-Easy". */
  set: string;
  /** Log-likelihood context: each choice is scored as context + " " + choice (lm-evaluation-harness). */
  context: string;
  /** Choice texts, without the leading space (empty for numeric items). */
  choices: string[];
  /** Index of the correct choice; null when the item has no label (usable as a prompt, refused for scoring). */
  gold: number | null;
  answerFormat: AnswerFormat;
  /** Full prompt for generative scoring (the instruction text as the LoRAs were trained on it). */
  prompt: string;
  /** Gold answer text for numeric items (e.g. "72"); unused otherwise. */
  target?: string;
}

/** One record of the instruction-format JSON files. */
export interface InstructionRecord {
  instruction: string;
  input?: string;
  output?: string;
  answer?: string;
}

/** The answer tokens an item of `format` with `n` choices accepts, in choice order (lower case). */
export function formatTokens(format: AnswerFormat, n: number): string[] {
  switch (format) {
    case 'trueFalse': return ['true', 'false'];
    case 'answerN': return Array.from({ length: n }, (_, i) => `answer${i + 1}`);
    case 'optionN': return Array.from({ length: n }, (_, i) => `option${i + 1}`);
    case 'solutionN': return Array.from({ length: n }, (_, i) => `solution${i + 1}`);
    case 'numeric': return [];
  }
}

const FORMAT_LINE = /\n\s*Answer format:\s*([^\n]+)\s*$/i;

function detectFormat(spec: string, where: string): { format: AnswerFormat; n: number } {
  const toks = spec.trim().toLowerCase().split('/').map((s) => s.trim());
  if (toks.length === 2 && toks[0] === 'true' && toks[1] === 'false') return { format: 'trueFalse', n: 2 };
  for (const [format, word] of [['answerN', 'answer'], ['optionN', 'option'], ['solutionN', 'solution']] as const) {
    if (toks.every((t, i) => t === `${word}${i + 1}`)) return { format, n: toks.length };
  }
  throw new BadInputError(`${where}: unknown answer format "${spec.trim()}" (expected answer1/answer2/..., option1/..., solution1/..., or true/false)`);
}

/**
 * Converts one instruction-format record into an EvalItem: finds "Answer format: ..." at the end, splits
 * the choice labels ("Answer1: ...", "Option1: ...", "Solution1: ...") out of the instruction text, and
 * builds the log-likelihood context "Question: <question>\nAnswer:" (the harness's ARC / PIQA template).
 * A record without `answer` becomes an unlabeled item (gold null).
 * @example itemFromInstruction({ instruction: 'Please choose ...: Why?\n\nAnswer1: a Answer2: b\n\nAnswer format: answer1/answer2', answer: 'answer2' }, 'arc', 0).gold // 1
 */
export function itemFromInstruction(rec: InstructionRecord, set: string, index: number, split = 'test'): EvalItem {
  const where = `${set}/${split}[${index}]`;
  if (!rec || typeof rec.instruction !== 'string') throw new BadInputError(`${where}: record has no "instruction" string`);
  const text = rec.input ? `${rec.instruction}\n${rec.input}` : rec.instruction;
  const fm = FORMAT_LINE.exec(rec.instruction);
  if (!fm) throw new BadInputError(`${where}: no "Answer format: ..." line at the end of the instruction`);
  const { format, n } = detectFormat(fm[1]!, where);
  const body = rec.instruction.slice(0, fm.index);
  let question: string;
  let choices: string[];
  if (format === 'trueFalse') {
    question = body.replace(/^[^:]*question:\s*/i, '').trim();
    choices = ['true', 'false'];
  } else {
    const word = format === 'answerN' ? 'Answer' : format === 'optionN' ? 'Option' : 'Solution';
    const first = body.search(new RegExp(`(^|\\s)${word}1:`));
    if (first < 0) throw new BadInputError(`${where}: no "${word}1:" in the instruction`);
    question = body.slice(0, first).replace(/^Please choose the correct [a-z]+ to the question:\s*/i, '').trim();
    const rest = body.slice(first);
    choices = [];
    for (let i = 1; i <= n; i++) {
      const start = rest.search(new RegExp(`(^|\\s)${word}${i}:`));
      if (start < 0) throw new BadInputError(`${where}: "${word}${i}:" missing from the instruction`);
      const from = rest.indexOf(`${word}${i}:`, start) + `${word}${i}:`.length;
      const nextAt = i < n ? rest.search(new RegExp(`\\s${word}${i + 1}:`)) : rest.length;
      if (nextAt < from - `${word}${i}:`.length) throw new BadInputError(`${where}: choice labels out of order`);
      choices.push(rest.slice(from, nextAt).trim());
    }
  }
  let gold: number | null = null;
  if (rec.answer !== undefined && rec.answer !== null && String(rec.answer).trim() !== '') {
    const tok = String(rec.answer).trim().toLowerCase();
    gold = formatTokens(format, n).indexOf(tok);
    if (gold < 0) throw new BadInputError(`${where}: answer ${JSON.stringify(rec.answer)} is outside the format ${fm[1]!.trim()}`);
  }
  return { id: `${set}/${split}/${index}`, set, context: `Question: ${question}\nAnswer:`, choices, gold, answerFormat: format, prompt: text };
}

/**
 * Reads an instruction-format JSON array and converts every record. Throws on an empty file.
 * @example const items = readInstructionSet('/work/shared/data/commonsense/ARC-Easy/test.json', 'ARC-Easy');
 */
export function readInstructionSet(file: string, set: string, split = 'test'): EvalItem[] {
  let raw: unknown;
  try { raw = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { throw new BadInputError(`${file}: cannot read JSON (${(e as Error).message})`); }
  if (!Array.isArray(raw)) throw new BadInputError(`${file}: expected a JSON array of {instruction, input, output, answer}`);
  if (raw.length === 0) throw new BadInputError(`${file}: set "${set}" is empty`);
  return raw.map((r, i) => itemFromInstruction(r as InstructionRecord, set, i, split));
}

/** Throws a clear error unless every item of `items` (one set) can be scored: non-empty, labelled, consistent. */
export function assertScorable(set: string, items: readonly EvalItem[]): void {
  if (items.length === 0) throw new BadInputError(`set "${set}" is empty: nothing to score`);
  const unlabeled = items.filter((it) => it.gold === null && it.target === undefined);
  if (unlabeled.length > 0) {
    throw new BadInputError(`set "${set}" has ${unlabeled.length} of ${items.length} items without labels (e.g. ${unlabeled[0]!.id}): `
      + 'unlabeled sets can serve as prompts for the generator but cannot be scored');
  }
  for (const it of items) {
    if (it.answerFormat === 'numeric') {
      if (typeof it.target !== 'string' || it.target.trim() === '') throw new BadInputError(`set "${set}": numeric item ${it.id} has no target`);
      continue;
    }
    if (it.choices.length < 2) throw new BadInputError(`set "${set}": item ${it.id} has ${it.choices.length} choices; multiple choice needs at least 2`);
    if (!Number.isInteger(it.gold) || it.gold! < 0 || it.gold! >= it.choices.length) {
      throw new BadInputError(`set "${set}": item ${it.id} has gold ${it.gold}, outside 0..${it.choices.length - 1}`);
    }
  }
}
