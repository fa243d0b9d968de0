// Parsing generated text into an answer (answerN / optionN / solutionN / endingN / true-false): the strict rule (the answer must open the output, optionally
// after "the correct answer is") and the LLM-Adapters "first token anywhere" rule; numbers for GSM8K.
// Not scoring: this only maps text to a choice index or a number.
import { formatTokens, type AnswerFormat } from './eval-item';

/** strict: the output must start with a format token (or "the correct answer is <token>"); first-match: the first token anywhere. */
export type ParseMode = 'strict' | 'first-match';

const PREFIX = /^(?:the\s+)?(?:correct\s+)?answer\s+is\s*:?\s*/;

/**
 * Maps a generated output to a choice index, or -1 when it is outside the set's format (counted wrong).
 * Tokens are limited to the item's own choices: "answer5" for a 4-choice item is outside the format.
 * @example parseChoice('the correct answer is answer2', 'answerN', 4, 'strict') // 1
 * @example parseChoice('I think answer2', 'answerN', 4, 'strict') // -1
 */
export function parseChoice(output: string, format: AnswerFormat, nChoices: number, mode: ParseMode): number {
  const tokens = formatTokens(format, nChoices);
  const text = output.trim().toLowerCase();
  if (mode === 'first-match') {
    const word = format === 'trueFalse' ? '(true|false)' : `(${format.slice(0, -1)}\\d+)`;
    const m = new RegExp(word).exec(text);
    return m ? tokens.indexOf(m[1]!) : -1;
  }
  const body = text.replace(PREFIX, '');
  const m = /^([a-z]+\d*)(?![a-z0-9])/.exec(body);
  return m ? tokens.indexOf(m[1]!) : -1;
}

// The preambles PREFIX accepts, whitespace runs as one space: text that is still a prefix of one may yet become it.
const PREAMBLES = ['the correct answer is', 'the answer is', 'correct answer is', 'answer is'];

/**
 * True when no continuation of `output` can change what parseChoice(output, ..., 'strict') returns, for any
 * format and number of choices: the optional preamble is complete, and the answer word is followed by a
 * character that ends it (or the answer does not open with a letter, which no continuation mends). Generation
 * for strict scoring can stop there (STRICT_CHOICE_STOP). Conservative: a non-ASCII character after the word
 * (possibly half of a multi-byte character still being generated) does not decide.
 * @example strictChoiceDecided('answer2') // false: "answer21" would read differently
 * @example strictChoiceDecided('answer2.') // true
 */
export function strictChoiceDecided(output: string): boolean {
  const text = output.trimStart().toLowerCase();
  const flat = text.replace(/\s+/g, ' ');
  if (PREAMBLES.some((p) => p.startsWith(flat))) return false; // may still become the preamble ('' included)
  const pre = PREFIX.exec(text);
  const body = pre ? text.slice(pre[0].length) : text;
  if (body === '') return false; // the preamble's trailing spaces and colon may still grow
  const word = /^[a-z]+\d*/.exec(body);
  if (!word) return true; // the answer opens with something other than a letter: outside the format whatever follows
  return word[0].length < body.length && body.charCodeAt(word[0].length) < 128;
}

/** GenerateOptions.stopWhen for strict choice scoring: a row stops once its answer is decided. */
export const STRICT_CHOICE_STOP = { rule: 'strict-choice-decided', done: strictChoiceDecided } as const;

const NUMBER = /-?\d[\d,]*(?:\.\d+)?/g;

/**
 * Extracts a GSM8K-style final number: the first number after "####" if present, else after "answer is",
 * else the last number in the text. Commas are dropped. Null when there is none.
 * @example parseNumber('... so she has 18 apples.\n#### 18') // '18'
 */
export function parseNumber(output: string): string | null {
  const pick = (s: string, last: boolean): string | null => {
    const all = s.match(NUMBER);
    if (!all || all.length === 0) return null;
    return (last ? all[all.length - 1]! : all[0]!).replace(/,/g, '');
  };
  const hash = output.indexOf('####');
  if (hash >= 0) return pick(output.slice(hash + 4), false);
  const ans = /answer is/i.exec(output);
  if (ans) {
    const v = pick(output.slice(ans.index + ans[0].length), false);
    if (v !== null) return v;
  }
  return pick(output, true);
}

/** Numeric exact match: both parse as finite numbers and are equal (so "18", "18.0" and "18,000"/"18000" compare by value). */
export function numbersEqual(pred: string | null, gold: string): boolean {
  if (pred === null) return false;
  const a = Number(pred.replace(/,/g, ''));
  const b = Number(gold.replace(/[,$\s]/g, ''));
  return Number.isFinite(a) && Number.isFinite(b) && a === b;
}
