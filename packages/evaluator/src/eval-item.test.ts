import { assertScorable, formatTokens, itemFromInstruction } from './eval-item';

// Records copied verbatim from /work/shared/data/commonsense (ODC-By, LLM-Adapters).
const ARC = { instruction: 'Please choose the correct answer to the question: Which characteristic describes the texture of a kitten\'s fur?\n\nAnswer1: gray Answer2: warm Answer3: long Answer4: soft\n\nAnswer format: answer1/answer2/answer3/answer4', input: '', output: 'the correct answer is answer4', answer: 'answer4' };
const BOOLQ = { instruction: 'Please answer the following question with true or false, question: does ethanol take more energy make that produces?\n\nAnswer format: true/false', input: '', output: 'the correct answer is false', answer: 'false' };
const PIQA = { instruction: 'Please choose the correct solution to the question: Make outdoor pillow.\n\nSolution1: Blow into tin can and tie with rubber band.\n\nSolution2: Blow into trash bag and tie with rubber band.\n\nAnswer format: solution1/solution2', input: '', output: 'the correct answer is solution2', answer: 'solution2' };
const OPTION = { instruction: 'Please choose the correct answer to fill in the blank to complete the given sentence: Sarah was a much better surgeon than Maria so _ always got the harder cases.\n\nOption1: Sarah Option2: Maria Answer format: option1/option2', answer: 'option1' };

describe('itemFromInstruction', () => {
  it('splits answerN choices and builds the harness context', () => {
    const it = itemFromInstruction(ARC, 'ARC-Easy', 3);
    expect(it).toMatchObject({ id: 'ARC-Easy/test/3', set: 'ARC-Easy', answerFormat: 'answerN', gold: 3, choices: ['gray', 'warm', 'long', 'soft'] });
    expect(it.context).toBe("Question: Which characteristic describes the texture of a kitten's fur?\nAnswer:");
    expect(it.prompt).toBe(ARC.instruction);
  });
  it('reads true/false items with choices in format order', () => {
    const it = itemFromInstruction(BOOLQ, 'boolq', 0);
    expect(it.choices).toEqual(['true', 'false']);
    expect(it.gold).toBe(1);
    expect(it.context).toBe('Question: does ethanol take more energy make that produces?\nAnswer:');
  });
  it('reads solutionN choices separated by blank lines', () => {
    const it = itemFromInstruction(PIQA, 'piqa', 0);
    expect(it.choices).toEqual(['Blow into tin can and tie with rubber band.', 'Blow into trash bag and tie with rubber band.']);
    expect(it.gold).toBe(1);
  });
  it('reads optionN items where the format line follows on the same paragraph', () => {
    const it = itemFromInstruction({ ...OPTION, instruction: OPTION.instruction.replace(' Answer format', '\n\nAnswer format') }, 'wino', 0);
    expect(it.choices).toEqual(['Sarah', 'Maria']);
    expect(it.answerFormat).toBe('optionN');
    expect(it.gold).toBe(0);
  });
  it('keeps an item without answer as unlabeled (gold null)', () => {
    const it = itemFromInstruction({ instruction: ARC.instruction }, 'ARC-Easy', 0);
    expect(it.gold).toBeNull();
  });
  it('refuses an answer outside the format and an unknown format', () => {
    expect(() => itemFromInstruction({ ...ARC, answer: 'answer5' }, 'ARC-Easy', 0)).toThrow(/outside the format/);
    expect(() => itemFromInstruction({ instruction: 'Q?\n\nAnswer format: A/B/C' }, 'x', 0)).toThrow(/unknown answer format/);
    expect(() => itemFromInstruction({ instruction: 'no format line' }, 'x', 0)).toThrow(/Answer format/);
  });
  it('formatTokens lists the tokens of a format', () => {
    expect(formatTokens('answerN', 3)).toEqual(['answer1', 'answer2', 'answer3']);
    expect(formatTokens('trueFalse', 2)).toEqual(['true', 'false']);
  });
});

describe('assertScorable', () => {
  it('refuses an unlabeled set with a clear message', () => {
    const items = [itemFromInstruction({ instruction: ARC.instruction }, 'prompts-only', 0)];
    expect(() => assertScorable('prompts-only', items)).toThrow(/without labels.*cannot be scored/);
  });
  it('refuses an empty set', () => {
    expect(() => assertScorable('empty', [])).toThrow(/set "empty" is empty/);
  });
  it('accepts a labelled set', () => {
    expect(() => assertScorable('ARC-Easy', [itemFromInstruction(ARC, 'ARC-Easy', 0)])).not.toThrow();
  });
});
