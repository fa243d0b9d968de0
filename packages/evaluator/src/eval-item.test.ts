import * as fs from 'fs';
import * as path from 'path';
import { assertScorable, checkScorable, formatTokens, itemFromInstruction } from './eval-item';

// Records copied verbatim from the shipped sets (<shared>/data/commonsense, ODC-By, LLM-Adapters).
const ARC = { instruction: 'Please choose the correct answer to the question: Which characteristic describes the texture of a kitten\'s fur?\n\nAnswer1: gray Answer2: warm Answer3: long Answer4: soft\n\nAnswer format: answer1/answer2/answer3/answer4', input: '', output: 'the correct answer is answer4', answer: 'answer4' };
const BOOLQ = { instruction: 'Please answer the following question with true or false, question: does ethanol take more energy make that produces?\n\nAnswer format: true/false', input: '', output: 'the correct answer is false', answer: 'false' };
const PIQA = { instruction: 'Please choose the correct solution to the question: Make outdoor pillow.\n\nSolution1: Blow into tin can and tie with rubber band.\n\nSolution2: Blow into trash bag and tie with rubber band.\n\nAnswer format: solution1/solution2', input: '', output: 'the correct answer is solution2', answer: 'solution2' };
// WinoGrande as the unseen seventh set ships it (issue 16): the format on the same line as the options.
const WINO = { instruction: 'Please choose the correct answer to fill in the blank to complete the given sentence: Sarah was a much better surgeon than Maria so _ always got the harder cases.\n\nOption1: Sarah Option2: Maria Answer format: option1/option2', answer: 'option1' };
// WinoGrande with the options on separate lines and the format after the last (the DnD paper's appendix table).
const WINO_LINES = { instruction: 'Please choose the correct answer to fill in the blank to complete the given sentence: Ian volunteered to eat Dennis\'s menudo after already having a bowl because _ despised eating intestine.\n\nOption1: Ian\nOption2: Dennis Answer format: option1/option2', input: '', output: 'the correct answer is option2', answer: 'option2' };
// HellaSwag in the LLM-Adapters form: endings on separate paragraphs, format after the last ending.
const HELLA = { instruction: 'Please choose the correct ending to complete the given sentence: Playing drums: People are standing behind large drums. A man\n\nEnding1: is playing a bag pipe.\n\nEnding2: starts to play around the drums.\n\nEnding3: begins playing a drum set.\n\nEnding4: begins playing the drums. Answer format: ending1/ending2/ending3/ending4', input: '', output: 'the correct answer is ending4', answer: 'ending4' };
// Bulleted choices with capitalised format tokens (a chat-template variant of the family).
const BULLETS = { instruction: 'Please choose the correct answer to fill in the blank to complete the given sentence.\n\nSentence: The trophy does not fit in the suitcase because _ is too big.\n\n- Option1: trophy\n- Option2: suitcase Answer format: Option1/Option2', answer: 'option1' };
// GSM8K-style numeric record (LLM-Adapters math sets): no format line, a number as the answer.
const GSM = { instruction: 'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?', input: '', output: 'Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.\n#### 72', answer: '72' };

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
    const it = itemFromInstruction(WINO, 'winogrande', 0);
    expect(it.choices).toEqual(['Sarah', 'Maria']);
    expect(it.answerFormat).toBe('optionN');
    expect(it.gold).toBe(0);
    expect(it.context).toBe('Question: Sarah was a much better surgeon than Maria so _ always got the harder cases.\nAnswer:');
    expect(it.prompt).toBe(WINO.instruction);
  });
  it('reads optionN choices on separate lines with the format after the last one', () => {
    const it = itemFromInstruction(WINO_LINES, 'winogrande', 1);
    expect(it.choices).toEqual(['Ian', 'Dennis']);
    expect(it.gold).toBe(1);
  });
  it('reads endingN items and scores the endings as continuations of the sentence (the harness HellaSwag form)', () => {
    const it = itemFromInstruction(HELLA, 'hellaswag', 0);
    expect(it.answerFormat).toBe('endingN');
    expect(it.choices).toEqual(['is playing a bag pipe.', 'starts to play around the drums.', 'begins playing a drum set.', 'begins playing the drums.']);
    expect(it.gold).toBe(3);
    expect(it.context).toBe('Playing drums: People are standing behind large drums. A man');
  });
  it('reads bulleted choices and capitalised format tokens', () => {
    const it = itemFromInstruction(BULLETS, 'wsc', 0);
    expect(it.choices).toEqual(['trophy', 'suitcase']);
    expect(it.gold).toBe(0);
    expect(it.context).toBe('Question: Sentence: The trophy does not fit in the suitcase because _ is too big.\nAnswer:');
  });
  it('reads a numeric record (no format line, a number as answer)', () => {
    const it = itemFromInstruction(GSM, 'gsm8k', 0);
    expect(it).toMatchObject({ answerFormat: 'numeric', choices: [], gold: null, target: '72', prompt: GSM.instruction });
    expect(() => assertScorable('gsm8k', [it])).not.toThrow();
  });
  it('keeps an item without answer as unlabeled (gold null)', () => {
    const it = itemFromInstruction({ instruction: ARC.instruction }, 'ARC-Easy', 0);
    expect(it.gold).toBeNull();
  });
  it('refuses an answer outside the format, an unknown format and a missing format', () => {
    expect(() => itemFromInstruction({ ...ARC, answer: 'answer5' }, 'ARC-Easy', 0)).toThrow(/outside the format/);
    expect(() => itemFromInstruction({ instruction: 'Q?\n\nAnswer format: A/B/C' }, 'x', 0)).toThrow(/unknown answer format "A\/B\/C"/);
    expect(() => itemFromInstruction({ instruction: 'no format line', answer: 'answer1' }, 'x', 0)).toThrow(/x\/test\[0\]: no "Answer format: ..."/);
  });
  it('names a missing or misordered label and a truncated format line', () => {
    expect(() => itemFromInstruction({ instruction: 'Please choose the correct answer to the question: Q?\n\nAnswer1: a Answer3: c\n\nAnswer format: answer1/answer2/answer3' }, 'x', 4))
      .toThrow('x/test[4]: "Answer2:" missing from the instruction');
    expect(() => itemFromInstruction({ instruction: 'Q?\n\nAnswer2: b Answer1: a\n\nAnswer format: answer1/answer2' }, 'x', 0)).toThrow(/out of order/);
    expect(() => itemFromInstruction({ ...ARC, instruction: ARC.instruction.replace(/answer1\/.*$/, 'a') }, 'ARC-Easy', 0)).toThrow(/unknown answer format "a"/);
    expect(() => itemFromInstruction({ ...ARC, instruction: `${ARC.instruction}\n\nExplain.` }, 'ARC-Easy', 0)).toThrow(/text follows the "Answer format: ..." line/);
  });
  it('formatTokens lists the tokens of a format', () => {
    expect(formatTokens('answerN', 3)).toEqual(['answer1', 'answer2', 'answer3']);
    expect(formatTokens('endingN', 2)).toEqual(['ending1', 'ending2']);
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

describe('checkScorable', () => {
  it('accepts every variant of the family as written', () => {
    for (const [name, rec] of Object.entries({ ARC, BOOLQ, PIQA, WINO, WINO_LINES, HELLA, BULLETS, GSM })) {
      expect({ name, check: checkScorable([rec, rec], name) }).toMatchObject({ name, check: { ok: true, n: 2 } });
    }
  });
  it('reports the first unscorable record by index and reason', () => {
    const c = checkScorable([ARC, ARC, { instruction: ARC.instruction }, { ...ARC, answer: 'answer9' }], 'ARC-Easy');
    expect(c).toEqual({ ok: false, set: 'ARC-Easy', index: 2, reason: expect.stringMatching(/1 of 1 items without labels.*cannot be scored/) });
    expect(checkScorable([ARC, { ...ARC, answer: 'answer9' }], 'ARC-Easy')).toMatchObject({ ok: false, index: 1, reason: expect.stringMatching(/outside the format/) });
    expect(checkScorable([ARC, GSM], 'mixed')).toMatchObject({ ok: false, index: 1, reason: expect.stringMatching(/numeric but record 0 is multiple choice/) });
    expect(checkScorable([], 'empty')).toMatchObject({ ok: false, index: -1, reason: expect.stringMatching(/empty/) });
    expect(checkScorable({ not: 'an array' }, 'x')).toMatchObject({ ok: false, index: -1 });
  });
  it('accepts every record of every shipped set, as read from disk', () => {
    const shared = process.env['DND_SHARED_DIR'] ?? path.resolve(__dirname, '..', '..', '..', '..', 'shared');
    const dir = path.join(shared, 'data', 'commonsense');
    const out: Record<string, string> = {};
    for (const set of fs.readdirSync(dir).filter((d) => fs.statSync(path.join(dir, d)).isDirectory()).sort()) {
      for (const split of ['train', 'test']) {
        const f = path.join(dir, set, `${split}.json`);
        if (!fs.existsSync(f)) continue;
        const c = checkScorable(JSON.parse(fs.readFileSync(f, 'utf8')), set, split);
        out[`${set}/${split}`] = c.ok ? `${c.n} ${c.formats.join(',')}` : `record ${c.index}: ${c.reason}`;
      }
    }
    // Counts from the data README's table.
    expect(out).toEqual({
      'ARC-Easy/train': '2251 answerN', 'ARC-Easy/test': '2376 answerN', 'boolq/train': '9427 trueFalse', 'boolq/test': '3270 trueFalse',
      'openbookqa/train': '4957 answerN', 'openbookqa/test': '500 answerN', 'piqa/test': '1838 solutionN', 'social_i_qa/test': '1954 answerN',
    });
  });
});
