// Durations for people: progress lines (compact, "9m38s") and reports (spaced, "3 min 20 s"). One rounding for
// every caller: the total is rounded once, then split, so 119.6 s reads "2m00s" and never "1m60s".

/**
 * `seconds` as text. 'compact' (progress lines and ETAs): "45s", "9m38s", "1h02m". 'spaced' (reports): "12.3 s",
 * "3 min 20 s", "1 h 02 min". Under an hour: minutes and whole seconds; from an hour: hours and whole minutes.
 * Not finite or negative (an ETA not known yet): "?".
 * @example formatDuration(119.6) // '2m00s'
 * @example formatDuration(200, 'spaced') // '3 min 20 s'
 */
export function formatDuration(seconds: number, style: 'compact' | 'spaced' = 'compact'): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const pad = (n: number) => String(n).padStart(2, '0');
  const tenths = Math.round(seconds * 10);
  if (style === 'spaced' && tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) {
    const m = Math.floor(whole / 60), s = whole % 60;
    if (style === 'spaced') return `${m} min ${pad(s)} s`;
    return m > 0 ? `${m}m${pad(s)}s` : `${s}s`;
  }
  const minutes = Math.round(seconds / 60), h = Math.floor(minutes / 60), m = minutes % 60;
  return style === 'spaced' ? `${h} h ${pad(m)} min` : `${h}h${pad(m)}m`;
}
