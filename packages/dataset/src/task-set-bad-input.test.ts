// Issue 20 item 5 at the source: every way a task set can never load is a BadInputError (the orchestrator
// maps it to a non-retryable failure), tried on real files as a user would hand them in.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isBadInput } from '@dnd/core';
import { resolveCollectConfig } from './collect-config';
import { loadTaskSet } from './task-set';

const good = JSON.stringify({ instruction: 'Q? Answer format: true/false', output: 'the correct answer is true', answer: 'true' });

function set(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-badset-'));
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected a failure');
}

it.each([
  ['an empty set', { 'train.jsonl': '', 'test.jsonl': '' }, /train\.jsonl has no usable records|test\.jsonl has no usable records/],
  ['a folder with no data file', { 'README.md': 'x' }, /no \.json\/\.jsonl\/\.parquet file/],
  ['a malformed JSONL line', { 'train.jsonl': `${good}\n{"instruction":\n`, 'test.jsonl': `${good}\n` }, /train\.jsonl:2: malformed JSON line/],
  ['a malformed JSON array', { 'train.json': '[{"instruction": "a"},', 'test.json': `[${good}]` }, /train\.json:\?: malformed JSON/],
  ['a record that is not an object', { 'train.json': '[1, 2]', 'test.json': `[${good}]` }, /expected an object, got number/],
  ['a record without instruction', { 'train.json': '[{"output": "x"}]', 'test.json': `[${good}]` }, /"instruction" is missing or empty/],
])('%s is a BadInputError naming the file', async (_what, files, want) => {
  const e = await failure(loadTaskSet(set(files)));
  expect(isBadInput(e)).toBe(true);
  expect(e.message).toMatch(want);
});

it('a missing set path is a BadInputError naming it', async () => {
  const e = await failure(loadTaskSet(path.join(os.tmpdir(), 'no-such-set-dnd-20')));
  expect(isBadInput(e)).toBe(true);
  expect(e.message).toContain('no-such-set-dnd-20');
});

it('rank: -4 is a BadInputError naming the field at config validation', () => {
  let e: unknown;
  try { resolveCollectConfig({ rank: -4 }); } catch (err) { e = err; }
  expect(isBadInput(e)).toBe(true);
  expect((e as Error).message).toMatch(/rank must be an integer >= 1, got -4/);
});
