import { formatDuration } from './duration';

describe('formatDuration', () => {
  it.each([
    [0, '0s', '0.0 s'],
    [12.34, '12s', '12.3 s'],
    [59.4, '59s', '59.4 s'],
    [59.96, '1m00s', '1 min 00 s'], // rounds up into the next minute, not "60.0 s" / "0m60s"
    [65, '1m05s', '1 min 05 s'],
    [119.6, '2m00s', '2 min 00 s'], // the old formatters wrote "1m60s" / "1 min 60 s" (seen in a report: "5 min 60 s")
    [359.7, '6m00s', '6 min 00 s'],
    [3599.6, '1h00m', '1 h 00 min'],
    [3629, '1h00m', '1 h 00 min'],
    [3631, '1h01m', '1 h 01 min'],
    [7170, '2h00m', '2 h 00 min'], // 119.5 min rounds to 2 h, not "1 h 60 min"
    [5400, '1h30m', '1 h 30 min'],
  ])('%p s reads %p (compact) and %p (spaced)', (sec, compact, spaced) => {
    expect(formatDuration(sec)).toBe(compact);
    expect(formatDuration(sec, 'spaced')).toBe(spaced);
  });

  it('says "?" for an ETA that is not known (not finite or negative)', () => {
    for (const v of [NaN, Infinity, -1]) {
      expect(formatDuration(v)).toBe('?');
      expect(formatDuration(v, 'spaced')).toBe('?');
    }
  });
});
