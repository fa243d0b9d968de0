// The commonsense instruction format ({instruction, input, output, answer}, "Answer1: ... Answer format:
// answer1/answer2") parsed in one place: the label format, the question, the choice texts, the gold index,
// and the knowledge protocol's (context, continuation) form shared by evaluation and LoRA collection.
// Not a loader (files, splits) and not scoring. Bad records throw BadInputError (they can never succeed).
import { BadInputError } from './bad-input';

/** How an item's answer is written: answer1..N, true/false, option1..N, solution1..N, ending1..N, or a number (GSM8K-style). */
export type AnswerFormat = 'answerN' | 'trueFalse' | 'optionN' | 'solutionN' | 'endingN' | 'numeric';
export const ANSWER_FORMATS: readonly AnswerFormat[] = ['answerN', 'trueFalse', 'optionN', 'solutionN', 'endingN', 'numeric'];

/** One record of the instruction-format JSON files. */
export interface InstructionRecord {
  instruction: string;
  input?: string;
  output?: string;
  answer?: string;
}

/** A parsed record: what scoring and knowledge-form training need. */
export interface ParsedInstruction {
  format: AnswerFormat;
  /** The question or sentence without the lead-in and the choices. */
  question: string;
  /** Choice texts in label order (["true", "false"] for true/false; empty for numeric). */
  choices: string[];
  /** Index of the gold choice; null without `answer` (and for numeric records). */
  gold: number | null;
  /** Numeric records: the gold number as written, commas dropped. */
  target?: string;
  /** The text the LoRAs see: instruction (+ "\n" + input). */
  prompt: string;
  /** The knowledge protocol's context: "Question: <question>\nAnswer:", or the sentence itself for endingN. */
  context: string;
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
  throw new BadInputError(`${where}: unknown answer format "${spec.trim()}" (expected answer1/answer2/..., option1/..., solution1/..., ending1/..., or true/false)`);
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
      throw new BadInputError(`${where}: ${anywhere ? `choice labels out of order ("${cap(word)}${i}:" comes before "${cap(word)}${i - 1}:")` : `"${cap(word)}${i}:" missing from the instruction`}`);
    }
    const at = m.index + m[1]!.length;
    starts.push({ at, end: at + m[2]!.length + 1 });
    from = at + m[2]!.length + 1;
  }
  const choices = starts.map((s, i) => body.slice(s.end, i + 1 < n ? starts[i + 1]!.at : body.length).replace(/\s*-\s*$/, '').trim());
  const empty = choices.findIndex((c) => c === '');
  if (empty >= 0) throw new BadInputError(`${where}: choice "${cap(word)}${empty + 1}:" is empty`);
  const question = body.slice(0, starts[0]!.at).replace(/\s*-\s*$/, '').replace(LEAD_IN, '').trim();
  return { question, choices };
}

const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1);

/**
 * Parses one instruction-format record. Reads every variant of the commonsense family: label formats
 * answerN / optionN / solutionN / endingN / true-false (the last "Answer format: ..." of the text, on its own
 * line or on the same line as the last choice), choices on one line, on several or as "- " bullets, and
 * numeric records (no format line, a number as `answer`, GSM8K-style). Throws naming `where` and the cause.
 * @example parseInstruction({ instruction: 'Please choose ...: _ won.\n\nOption1: Sarah Option2: Maria Answer format: option1/option2', answer: 'option1' }, 'wino[0]').choices // ['Sarah', 'Maria']
 */
export function parseInstruction(rec: InstructionRecord, where: string): ParsedInstruction {
  if (!rec || typeof rec.instruction !== 'string') throw new BadInputError(`${where}: record has no "instruction" string`);
  const text = rec.input ? `${rec.instruction}\n${rec.input}` : rec.instruction;
  const answer = rec.answer !== undefined && rec.answer !== null && String(rec.answer).trim() !== '' ? String(rec.answer).trim() : null;
  const marks = [...text.matchAll(FORMAT_MARK)];
  if (marks.length === 0) {
    if (answer !== null && NUMBER.test(answer)) {
      return { format: 'numeric', question: text.replace(LEAD_IN, '').trim(), context: `Question: ${text.replace(LEAD_IN, '').trim()}\nAnswer:`, choices: [], gold: null, prompt: text, target: answer.replace(/,/g, '') };
    }
    throw new BadInputError(`${where}: no "Answer format: ..." in the instruction (and no numeric answer that would make it a numeric item)`);
  }
  const mark = marks[marks.length - 1]!;
  const spec = text.slice(mark.index! + mark[0].length);
  if (/\n\s*\S/.test(spec.replace(/^[^\n]*/, ''))) throw new BadInputError(`${where}: text follows the "Answer format: ..." line`);
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
  if (question === '') throw new BadInputError(`${where}: no question before the choices`);
  let gold: number | null = null;
  if (answer !== null) {
    gold = formatTokens(format, n).indexOf(answer.toLowerCase().replace(/\.$/, ''));
    if (gold < 0) throw new BadInputError(`${where}: answer ${JSON.stringify(rec.answer)} is outside the format ${spec.trim()}`);
  }
  const context = format === 'endingN' ? question : `Question: ${question}\nAnswer:`;
  return { format, question, context, choices, gold, prompt: text };
}

/**
 * The knowledge protocol's training pair for a labelled multiple-choice record: the context the evaluator
 * scores ("Question: <question>\nAnswer:") and the gold choice text as the continuation, with its leading
 * space (" " + choice, lm-evaluation-harness). Throws for unlabeled or numeric records.
 * @example knowledgeExample({ instruction: 'Please choose the correct answer to the question: Q?\n\nAnswer1: a Answer2: b\n\nAnswer format: answer1/answer2', answer: 'answer2' }, 'x[0]') // { context: 'Question: Q?\nAnswer:', continuation: ' b' }
 */
export function knowledgeExample(rec: InstructionRecord, where: string): { context: string; continuation: string } {
  const p = parseInstruction(rec, where);
  if (p.format === 'numeric') throw new BadInputError(`${where}: a numeric record has no choice texts to train on`);
  if (p.gold === null) throw new BadInputError(`${where}: no "answer": the gold choice is unknown`);
  return { context: p.context, continuation: ` ${p.choices[p.gold]!}` };
}

