// The evaluator's item record (EvalItem), the converter from the commonsense instruction format to it
// (the format itself is parsed in @dnd/core's instruction-format.ts), and the scorability checks.
// Not a dataset loader with splits or caching: callers hand in items.
import * as fs from 'fs';
import { BadInputError, parseInstruction, type AnswerFormat, type InstructionRecord } from '@dnd/core';

export { ANSWER_FORMATS, formatTokens, type AnswerFormat, type InstructionRecord } from '@dnd/core';

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

/**
 * Converts one instruction-format record into an EvalItem. Reads every variant of the commonsense family:
 * label formats answerN / optionN / solutionN / endingN / true-false (the last "Answer format: ..." of the
 * text, on its own line or on the same line as the last choice), choices on one line or on several, and
 * numeric records (no format line, a number as `answer`, GSM8K-style). The log-likelihood context is
 * "Question: <question>\nAnswer:" (the harness's ARC / PIQA template); for endingN items it is the sentence
 * to complete itself (the harness's HellaSwag form). A record without `answer` becomes an unlabeled item (gold null).
 * @example itemFromInstruction({ instruction: 'Please choose ...: Why?\n\nAnswer1: a Answer2: b\n\nAnswer format: answer1/answer2', answer: 'answer2' }, 'arc', 0).gold // 1
 * @example itemFromInstruction({ instruction: 'Please choose ...: _ won.\n\nOption1: Sarah Option2: Maria Answer format: option1/option2', answer: 'option1' }, 'wino', 0).choices // ['Sarah', 'Maria']
 */
export function itemFromInstruction(rec: InstructionRecord, set: string, index: number, split = 'test'): EvalItem {
  const p = parseInstruction(rec, `${set}/${split}[${index}]`);
  const item: EvalItem = { id: `${set}/${split}/${index}`, set, context: p.context, choices: p.choices, gold: p.gold, answerFormat: p.format, prompt: p.prompt };
  if (p.target !== undefined) item.target = p.target;
  return item;
}

/**
 * Reads an instruction-format JSON array and converts every record. Throws on an empty file.
 * @example const items = readInstructionSet('data/commonsense/ARC-Easy/test.json', 'ARC-Easy');
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

/** The outcome of checkScorable: every record scorable, or the first one that is not and why. */
export type ScorableCheck =
  | { ok: true; set: string; n: number; formats: AnswerFormat[] }
  | { ok: false; set: string; index: number; reason: string };

/**
 * Checks, before a run starts, that every record of a set (as read from its JSON file) converts to a
 * labelled, scorable item, and that the set does not mix numeric and multiple-choice items. Never throws
 * for bad records: it reports the first unscorable one by index (-1 when the set itself is not a
 * non-empty array) with the reason the evaluator would give at the evaluate step.
 * @example
 * const c = checkScorable(JSON.parse(fs.readFileSync('winogrande/test.json', 'utf8')), 'winogrande');
 * if (!c.ok) throw new BadInputError(`set ${c.set}, record ${c.index}: ${c.reason}`);
 */
export function checkScorable(records: unknown, set: string, split = 'test'): ScorableCheck {
  if (!Array.isArray(records)) return { ok: false, set, index: -1, reason: 'expected a JSON array of {instruction, input, output, answer}' };
  if (records.length === 0) return { ok: false, set, index: -1, reason: `set "${set}" is empty: nothing to score` };
  const formats = new Set<AnswerFormat>();
  let numeric: boolean | null = null;
  for (let i = 0; i < records.length; i++) {
    let it: EvalItem;
    try {
      it = itemFromInstruction(records[i] as InstructionRecord, set, i, split);
      assertScorable(set, [it]);
    } catch (e) {
      return { ok: false, set, index: i, reason: (e as Error).message };
    }
    const isNum = it.answerFormat === 'numeric';
    if (numeric === null) numeric = isNum;
    else if (numeric !== isNum) return { ok: false, set, index: i, reason: `record ${i} is ${isNum ? 'numeric' : `multiple choice (${it.answerFormat})`} but record 0 is ${numeric ? 'numeric' : 'multiple choice'}: a set is scored one way` };
    formats.add(it.answerFormat);
  }
  return { ok: true, set, n: records.length, formats: [...formats] };
}
