import { scoringTimeText } from './report-markdown';
import type { EvaluationResults, ProtocolResults } from './run-evaluation';

// Only the fields scoringTimeText reads; the rest of a results object does not take part.
const results = (protocols: Partial<ProtocolResults>[]) => ({ protocols }) as unknown as EvaluationResults;

describe('scoringTimeText', () => {
  it('gives each protocol its time, its pairs and the time per pair', () => {
    const r = results([
      { protocol: 'paper', timing: { seconds: 125, pairs: 1500, sets: [] } },
      { protocol: 'knowledge', timing: { seconds: 3700, pairs: 27835, sets: [] } },
    ]);
    expect(scoringTimeText(r)).toBe('paper 2 min 05 s (1,500 item-adapter pairs, 83 ms each); knowledge 1 h 02 min (27,835 pairs, 133 ms each)');
  });

  it('keeps two significant digits below 10 ms and names no rate without pairs', () => {
    expect(scoringTimeText(results([{ protocol: 'knowledge', timing: { seconds: 0.25, pairs: 100, sets: [] } }]))).toBe('knowledge 0.3 s (100 item-adapter pairs, 2.5 ms each)');
    expect(scoringTimeText(results([{ protocol: 'paper', timing: { seconds: 0, pairs: 0, sets: [] } }]))).toBe('paper 0.0 s (0 item-adapter pairs)');
  });

  it('says "not recorded" for results written before timing was kept', () => {
    expect(scoringTimeText(results([{ protocol: 'paper' }, { protocol: 'knowledge' }]))).toBe('not recorded');
  });
});
