// The evaluator's item record (EvalItem) and the converter from the commonsense instruction format
// ({instruction, input, output, answer} with "Answer1: ... Answer format: answer1/answer2") to it.
// Not a dataset loader with splits or caching: callers hand in items; this only parses what scoring needs.
import * as fs from 'fs';

/** How an item's answer is written: answer1..N, true/false, option1..N, solution1..N, ending1..N, or a number (GSM8K-style). */
export type AnswerFormat = 'answerN' | 'trueFalse' | 'optionN' | 'solutionN' | 'endingN' | 'numeric';
export const ANSWER_FORMATS: readonly AnswerFormat[] = ['answerN', 'trueFalse', 'optionN', 'solutionN', 'endingN', 'numeric'];

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

/** The label word of each lettered format ("Answer1:", "Option1:", ...). */
const LABEL_WORD: Partial<Record<AnswerFormat, string>> = { answerN: 'answer', optionN: 'option', solutionN: 'solution', endingN: 'ending' };

/** The answer tokens an item of `format` with `n` choices accepts, in choice order (lower case). */
export function formatTokens(format: AnswerFormat, n: number): string[] {
  if (format === 'trueFalse') return ['true', 'false'];
  if (format === 'numeric') return [];
  return Array.from({ length: n }, (_, i) => `${LABEL_WORD[format]}${i + 1}`);
}

/** "Answer format:" anywhere (its own line, or after the last choice on the same line); the last one counts. */
const FORMAT_MARK = /answer format:/gi;
/** The instruction's lead-in ("Please choose the correct answer to the question: ", "... with true or false, question: "). */
const LEAD_IN = /^\s*Please (?:choose|answer)[^:\n]*?(?::|\.[ \t]*\n)\s*/i;
const NUMBER = /^-?\d[\d,]*(?:\.\d+)?$/;

function detectFormat(spec: string, where: string): { format: AnswerFormat; n: number } {
  const toks = spec.trim().replace(/\.$/, '').toLowerCase().split('/').map((s) => s.trim());
  if (toks.length === 2 && toks[0] === 'true' && toks[1] === 'false') return { format: 'trueFalse', n: 2 };
  for (const [format, word] of Object.entries(LABEL_WORD) as [AnswerFormat, string][]) {
    if (toks.length >= 2 && toks.every((t, i) => t === `${word}${i + 1}`)) return { format, n: toks.length };
  }
  throw new Error(`${where}: unknown answer format "${spec.trim()}" (expected answer1/answer2/..., option1/..., solution1/..., ending1/..., or true/false)`);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Splits "Label1: a Label2: b" (one line, several lines, blank lines or "- " bullets between) into its n choice texts. */
function splitChoices(body: string, word: string, n: number, where: string): { question: string; choices: string[] } {
  const starts: { at: number; end: number }[] = [];
  let from = 0;
  for (let i = 1; i <= n; i++) {
    const re = new RegExp(`(^|[\\s(])(${escapeRe(word)}${i}):`, 'gi');
    re.lastIndex = from;
    const m = re.exec(body);
    if (!m) {
      const anywhere = new RegExp(`${escapeRe(word)}${i}:`, 'i').test(body);
      throw new Error(`${where}: ${anywhere ? `choice labels out of order ("${cap(word)}${i}:" comes before "${cap(word)}${i - 1}:")` : `"${cap(word)}${i}:" missing from the instruction`}`);
    }
    const at = m.index + m[1]!.length;
    starts.push({ at, end: at + m[2]!.length + 1 });
    from = at + m[2]!.length + 1;
  }
  const choices = starts.map((s, i) => body.slice(s.end, i + 1 < n ? starts[i + 1]!.at : body.length).replace(/\s*-\s*$/, '').trim());
  const empty = choices.findIndex((c) => c === '');
  if (empty >= 0) throw new Error(`${where}: choice "${cap(word)}${empty + 1}:" is empty`);
  const question = body.slice(0, starts[0]!.at).replace(/\s*-\s*$/, '').replace(LEAD_IN, '').trim();
  return { question, choices };
}

const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1);

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
  const where = `${set}/${split}[${index}]`;
  if (!rec || typeof rec.instruction !== 'string') throw new Error(`${where}: record has no "instruction" string`);
  const text = rec.input ? `${rec.instruction}\n${rec.input}` : rec.instruction;
  const id = `${set}/${split}/${index}`;
  const answer = rec.answer !== undefined && rec.answer !== null && String(rec.answer).trim() !== '' ? String(rec.answer).trim() : null;
  const marks = [...text.matchAll(FORMAT_MARK)];
  if (marks.length === 0) {
    if (answer !== null && NUMBER.test(answer)) {
      return { id, set, context: `Question: ${text.replace(LEAD_IN, '').trim()}\nAnswer:`, choices: [], gold: null, answerFormat: 'numeric', prompt: text, target: answer.replace(/,/g, '') };
    }
    throw new Error(`${where}: no "Answer format: ..." in the instruction (and no numeric answer that would make it a numeric item)`);
  }
  const mark = marks[marks.length - 1]!;
  const spec = text.slice(mark.index! + mark[0].length);
  if (/\n\s*\S/.test(spec.replace(/^[^\n]*/, ''))) throw new Error(`${where}: text follows the "Answer format: ..." line`);
  const { format, n } = detectFormat(spec.split('\n')[0]!, where);
  const body = text.slice(0, mark.index!);
  let question: string;
  let choices: string[];
  if (format === 'trueFalse') {
    question = LEAD_IN.test(body) ? body.replace(LEAD_IN, '').trim() : body.replace(/^[^:\n]*question:\s*/i, '').trim();
    choices = ['true', 'false'];
  } else {
    ({ question, choices } = splitChoices(body, LABEL_WORD[format]!, n, where));
  }
  if (question === '') throw new Error(`${where}: no question before the choices`);
  let gold: number | null = null;
  if (answer !== null) {
    gold = formatTokens(format, n).indexOf(answer.toLowerCase().replace(/\.$/, ''));
    if (gold < 0) throw new Error(`${where}: answer ${JSON.stringify(rec.answer)} is outside the format ${spec.trim()}`);
  }
  const context = format === 'endingN' ? question : `Question: ${question}\nAnswer:`;
  return { id, set, context, choices, gold, answerFormat: format, prompt: text };
}

/**
 * Reads an instruction-format JSON array and converts every record. Throws on an empty file.
 * @example const items = readInstructionSet('data/commonsense/ARC-Easy/test.json', 'ARC-Easy');
 */
export function readInstructionSet(file: string, set: string, split = 'test'): EvalItem[] {
  let raw: unknown;
  try { raw = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { throw new Error(`${file}: cannot read JSON (${(e as Error).message})`); }
  if (!Array.isArray(raw)) throw new Error(`${file}: expected a JSON array of {instruction, input, output, answer}`);
  if (raw.length === 0) throw new Error(`${file}: set "${set}" is empty`);
  return raw.map((r, i) => itemFromInstruction(r as InstructionRecord, set, i, split));
}

/** Throws a clear error unless every item of `items` (one set) can be scored: non-empty, labelled, consistent. */
export function assertScorable(set: string, items: readonly EvalItem[]): void {
  if (items.length === 0) throw new Error(`set "${set}" is empty: nothing to score`);
  const unlabeled = items.filter((it) => it.gold === null && it.target === undefined);
  if (unlabeled.length > 0) {
    throw new Error(`set "${set}" has ${unlabeled.length} of ${items.length} items without labels (e.g. ${unlabeled[0]!.id}): `
      + 'unlabeled sets can serve as prompts for the generator but cannot be scored');
  }
  for (const it of items) {
    if (it.answerFormat === 'numeric') {
      if (typeof it.target !== 'string' || it.target.trim() === '') throw new Error(`set "${set}": numeric item ${it.id} has no target`);
      continue;
    }
    if (it.choices.length < 2) throw new Error(`set "${set}": item ${it.id} has ${it.choices.length} choices; multiple choice needs at least 2`);
    if (!Number.isInteger(it.gold) || it.gold! < 0 || it.gold! >= it.choices.length) {
      throw new Error(`set "${set}": item ${it.id} has gold ${it.gold}, outside 0..${it.choices.length - 1}`);
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
