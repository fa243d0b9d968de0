import { isBadInput } from './bad-input';
import { knowledgeExample, parseInstruction } from './instruction-format';

// Records as the shipped sets write them (the variants themselves are tested in @dnd/evaluator's eval-item.test.ts).
const ARC = { instruction: 'Please choose the correct answer to the question: Which characteristic describes the texture of a kitten\'s fur?\n\nAnswer1: gray Answer2: warm Answer3: long Answer4: soft\n\nAnswer format: answer1/answer2/answer3/answer4', input: '', output: 'the correct answer is answer4', answer: 'answer4' };
const WINO = { instruction: 'Please choose the correct answer to fill in the blank to complete the given sentence: Sarah was a much better surgeon than Maria so _ always got the harder cases.\n\nOption1: Sarah Option2: Maria Answer format: option1/option2', answer: 'option1' };
const BOOLQ = { instruction: 'Please answer the following question with true or false, question: does ethanol take more energy make that produces?\n\nAnswer format: true/false', input: '', output: 'the correct answer is false', answer: 'false' };

describe('knowledgeExample', () => {
  it('pairs the evaluator\'s context with " " + the gold choice text', () => {
    expect(knowledgeExample(ARC, 'arc[0]')).toEqual({ context: "Question: Which characteristic describes the texture of a kitten's fur?\nAnswer:", continuation: ' soft' });
    expect(knowledgeExample(WINO, 'wino[0]')).toEqual({ context: 'Question: Sarah was a much better surgeon than Maria so _ always got the harder cases.\nAnswer:', continuation: ' Sarah' });
    expect(knowledgeExample(BOOLQ, 'boolq[0]')).toEqual({ context: 'Question: does ethanol take more energy make that produces?\nAnswer:', continuation: ' false' });
    // The context is exactly the one parseInstruction gives the evaluator.
    expect(knowledgeExample(ARC, 'arc[0]').context).toBe(parseInstruction(ARC, 'arc[0]').context);
  });
  it('refuses unlabeled and numeric records with a BadInputError', () => {
    let err: unknown;
    try { knowledgeExample({ instruction: ARC.instruction }, 'arc[3]'); } catch (e) { err = e; }
    expect(isBadInput(err)).toBe(true);
    expect((err as Error).message).toBe('arc[3]: no "answer": the gold choice is unknown');
    expect(() => knowledgeExample({ instruction: 'How many?', answer: '72' }, 'gsm[0]')).toThrow(/numeric record has no choice texts/);
    expect(() => parseInstruction({ instruction: 'no format', answer: 'answer1' }, 'x[1]')).toThrow(/x\[1\]: no "Answer format: ..."/);
  });
});
