// The one name rule and the containment check: traversal names from any source are refused with a
// BadInputError naming the kind and the value; paths built from valid names stay inside their root.
import * as path from 'path';
import { isBadInput } from './bad-input';
import { isValidName, resolveInside, validateName } from './names';

describe('validateName', () => {
  it('accepts the shipped set names and generated run ids', () => {
    for (const n of ['ARC-Easy', 'boolq', 'social_i_qa', 'quickstart-20261201-095300', 'a', 'x'.repeat(128), 'v1.2']) expect(validateName('set', n)).toBe(n);
  });

  it('refuses traversal, separators, empty, leading dots and over-long names, naming the kind and the value', () => {
    const bad = ['../'.repeat(10) + 'tmp/ARC-Easy', '..', '../../../../tmp/x', '', '.hidden', 'a/b', 'a\\b', '/abs', 'a..b', 'x'.repeat(129), 'nul\0', ' lead'];
    for (const n of bad) {
      expect(isValidName(n)).toBe(false);
      let err: unknown;
      try { validateName('held-out set', n); } catch (e) { err = e; }
      expect(isBadInput(err)).toBe(true);
      expect((err as Error).message).toContain(`held-out set ${JSON.stringify(n)} is not a valid name`);
    }
    expect(isValidName(42)).toBe(false);
  });
});

describe('resolveInside', () => {
  it('joins inside the root and refuses anything that escapes it', () => {
    const root = path.resolve('/srv/runs');
    expect(resolveInside(root, 'exp-3', 'config.json')).toBe(path.join(root, 'exp-3', 'config.json'));
    expect(resolveInside(root, '..foo')).toBe(path.join(root, '..foo'));
    expect(resolveInside(root)).toBe(root);
    for (const parts of [['..'], ['../../etc/passwd'], ['a', '..', '..', 'b'], ['/etc']]) {
      expect(() => resolveInside(root, ...parts)).toThrow(/escapes/);
    }
  });
});
