import { mulberry32 } from '@dnd/core';
import { numbersEqual, parseChoice, parseNumber, strictChoiceDecided } from './answer-parse';
import type { AnswerFormat } from './eval-item';

describe('parseChoice strict', () => {
  it('accepts the token at the start, optionally after "the correct answer is"', () => {
    expect(parseChoice('the correct answer is answer2', 'answerN', 4, 'strict')).toBe(1);
    expect(parseChoice('  Answer3. Because ...', 'answerN', 4, 'strict')).toBe(2);
    expect(parseChoice('the correct answer is false', 'trueFalse', 2, 'strict')).toBe(1);
    expect(parseChoice('solution1', 'solutionN', 2, 'strict')).toBe(0);
    expect(parseChoice('option2\n', 'optionN', 2, 'strict')).toBe(1);
    expect(parseChoice('the correct answer is ending4', 'endingN', 4, 'strict')).toBe(3);
    expect(parseChoice('Option1', 'optionN', 2, 'strict')).toBe(0);
  });
  it('counts anything outside the format as wrong (-1)', () => {
    expect(parseChoice('I think answer2', 'answerN', 4, 'strict')).toBe(-1);
    expect(parseChoice('answer5', 'answerN', 4, 'strict')).toBe(-1);
    expect(parseChoice('answer12', 'answerN', 4, 'strict')).toBe(-1);
    expect(parseChoice('answer 2', 'answerN', 4, 'strict')).toBe(-1);
    expect(parseChoice('yes', 'trueFalse', 2, 'strict')).toBe(-1);
    expect(parseChoice('truely', 'trueFalse', 2, 'strict')).toBe(-1);
    expect(parseChoice('option1', 'answerN', 4, 'strict')).toBe(-1);
    expect(parseChoice('', 'answerN', 4, 'strict')).toBe(-1);
  });
});

describe('strictChoiceDecided: when generation for strict scoring may stop', () => {
  it('decides once the answer word has ended, or cannot be one; not inside a possible preamble', () => {
    for (const t of ['answer2.', 'answer2 because', 'Answer3\n', 'the correct answer is answer1 ', 'true,', 'the answer is: false.', '1. answer2', '**answer1**', 'I think', 'answer 2', 'The sun'])
      expect([t, strictChoiceDecided(t)]).toEqual([t, true]);
    for (const t of ['', '  ', 'answer2', 'answer', 'answer ', 'the', 'the correct answer', 'the correct answer is ', 'answer is:', 'The  correct', 'true', 'answer2\uFFFD', 'answer2é'])
      expect([t, strictChoiceDecided(t)]).toEqual([t, false]);
  });

  it('a decided prefix parses as the whole text does, for every format and choice count (20,000 seeded texts, every prefix)', () => {
    const parts = ['the', 'The', ' ', '  ', '\n', 'correct', 'answer', 'Answer', 'is', ' is', ':', '1', '2', '3', '12', 'true', 'false', 'True', 'option', 'solution', 'ending', '.', ',', 'x', 'ly', "n't", 'é', '\uFFFD', '*', '-', 'K'];
    const formats: Array<[AnswerFormat, number]> = [['answerN', 3], ['answerN', 4], ['answerN', 5], ['trueFalse', 2], ['optionN', 2], ['solutionN', 2], ['endingN', 4]];
    const rand = mulberry32(7);
    let decided = 0; let checked = 0;
    const wrong: string[] = [];
    for (let n = 0; n < 20000; n++) {
      let text = '';
      const len = 1 + Math.floor(rand() * 8);
      for (let i = 0; i < len; i++) text += parts[Math.floor(rand() * parts.length)]!;
      for (let i = 0; i <= text.length; i++) {
        const prefix = text.slice(0, i);
        checked++;
        if (!strictChoiceDecided(prefix)) continue;
        decided++;
        for (const [f, k] of formats) if (parseChoice(prefix, f, k, 'strict') !== parseChoice(text, f, k, 'strict')) wrong.push(`${JSON.stringify(prefix)} of ${JSON.stringify(text)} (${f}, ${k})`);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(decided).toBeGreaterThan(checked / 4); // the property is not vacuous
  });
});

describe('parseChoice first-match (LLM-Adapters)', () => {
  it('takes the first format token anywhere', () => {
    expect(parseChoice('I think answer2, not answer1', 'answerN', 4, 'first-match')).toBe(1);
    expect(parseChoice('hmm... false', 'trueFalse', 2, 'first-match')).toBe(1);
    expect(parseChoice('so it is ending2', 'endingN', 4, 'first-match')).toBe(1);
    expect(parseChoice('nothing here', 'answerN', 4, 'first-match')).toBe(-1);
  });
});

describe('numeric', () => {
  it('prefers "####", then "answer is", then the last number', () => {
    expect(parseNumber('3 + 4 = 7 apples\n#### 7')).toBe('7');
    expect(parseNumber('The answer is 1,200 dollars, not 5')).toBe('1200');
    expect(parseNumber('she had 3 then 18')).toBe('18');
    expect(parseNumber('no digits')).toBeNull();
  });
  it('compares by value', () => {
    expect(numbersEqual('18.0', '18')).toBe(true);
    expect(numbersEqual('1200', '1,200')).toBe(true);
    expect(numbersEqual('17', '18')).toBe(false);
    expect(numbersEqual(null, '18')).toBe(false);
  });
});
