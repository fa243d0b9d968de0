import { esc, fitAxis, heatColour, heatMap, intervalChart, lineChart, niceTicks } from './svg-charts';
import { wilson } from './stats';

describe('svg charts', () => {
  it('interval chart: a dot and a whisker per present value, pooled points beside, n/a for absent ones, a chance line per group', () => {
    const svg = intervalChart(['A', 'B'], [
      { label: 'base', values: [wilson(3, 10), null] },
      { label: 'lora <x>', values: [{ ...wilson(5, 10), points: [0.4, 0.6] }, wilson(9, 10)] },
    ], 'T & t', [0.25, 0.5]);
    expect(svg.match(/<circle class="value"/g)!.length).toBe(3);
    expect(svg.match(/<circle class="point"/g)!.length).toBe(2);
    expect(svg.match(/<line class="chance"/g)!.length).toBe(2);
    expect(svg).toContain('chance on B: 50.0%');
    expect(svg).toContain('n/a');
    expect(svg).toContain('lora &lt;x&gt;');
    expect(svg).toContain('T &amp; t');
    expect(svg).not.toMatch(/NaN|undefined/);
  });
  it('fits the axis to the data: values near chance do not sit on a 0-100% axis', () => {
    expect(fitAxis([0.48, 0.52, 0.5])).toEqual({ lo: 0.45, hi: 0.55, step: 0.025 });
    expect(fitAxis([0, 1])).toEqual({ lo: 0, hi: 1, step: 0.2 });
    expect(fitAxis([0.2, 0.61])).toEqual({ lo: 0.15, hi: 0.65, step: 0.1 });
    const svg = intervalChart(['A'], [{ label: 'base', values: [{ value: 0.5, lo: 0.48, hi: 0.52 }] }], 't', [0.5]);
    expect(svg).toContain('>45%<');
    expect(svg).toContain('>55%<');
    expect(svg).not.toContain('>100%<');
    expect(svg).toContain('y axis 45%–55% (fitted to the data)');
  });
  it('line chart: one polyline through every point, axes from the data', () => {
    const svg = lineChart([{ x: 0, y: 2 }, { x: 50, y: 1 }, { x: 100, y: 0.5 }], 'loss', 'step', 'loss');
    const pts = /points="([^"]+)"/.exec(svg)![1]!.split(' ');
    expect(pts.length).toBe(3);
    expect(svg).toContain('>100<');
    expect(lineChart([], 'loss', 'step', 'loss')).toContain('not recorded');
    expect(niceTicks(0.256, 2.4)).toEqual([0.5, 1, 1.5, 2]);
    expect(niceTicks(0, 290)).toEqual([0, 100, 200]);
  });
  it('heat map: a cell per value, outlines the diagonal, marks failed rows, prints chance per column', () => {
    const svg = heatMap(['base', 'lora-a (A)'], ['A', 'B'], [[wilson(1, 4), wilson(2, 4)], [wilson(0, 4), null]], (r, c) => r === 1 && c === 0, 'x', (r) => r === 1, [0.25, 1 / 3]);
    expect(svg).toContain('>25.0<');
    expect(svg).toContain('>50.0<');
    expect(svg).toContain('failed: 0');
    expect(svg.match(/stroke="#d00"/g)!.length).toBe(2); // the diagonal cell + the legend swatch
    expect(svg).toContain('>—<');
    expect(svg.match(/class="chance"/g)!.length).toBe(2);
    expect(svg).toContain('>33.3<');
  });
  it('colour ramp is light at 0 and dark at 1 with readable text', () => {
    expect(heatColour(0)).toEqual({ fill: 'rgb(255,255,204)', text: '#111' });
    expect(heatColour(1)).toEqual({ fill: 'rgb(37,52,148)', text: '#fff' });
    expect(esc('"<&>')).toBe('&quot;&lt;&amp;&gt;');
  });
});
