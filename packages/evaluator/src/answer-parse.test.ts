import { numbersEqual, parseChoice, parseNumber } from './answer-parse';

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
