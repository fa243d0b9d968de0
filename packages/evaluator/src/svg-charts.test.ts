import { barChart, esc, heatColour, heatMap } from './svg-charts';
import { wilson } from './stats';

describe('svg charts', () => {
  it('draws one bar and one whisker per present value, and n/a for absent ones', () => {
    const svg = barChart(['A', 'B'], [{ label: 'base', values: [wilson(3, 10), null] }, { label: 'lora <x>', values: [wilson(5, 10), wilson(9, 10)] }], 'T & t');
    expect(svg.match(/<rect [^>]*height="\d/g)!.length).toBe(3 + 2); // 3 bars + 2 legend swatches
    expect(svg).toContain('n/a');
    expect(svg).toContain('lora &lt;x&gt;');
    expect(svg).toContain('T &amp; t');
    expect(svg).not.toMatch(/NaN|undefined/);
  });
  it('heat map: a cell per value, outlines the diagonal, marks failed rows', () => {
    const svg = heatMap(['base', 'lora-a (A)'], ['A', 'B'], [[wilson(1, 4), wilson(2, 4)], [wilson(0, 4), null]], (r, c) => r === 1 && c === 0, 'x', (r) => r === 1);
    expect(svg).toContain('>25.0<');
    expect(svg).toContain('>50.0<');
    expect(svg).toContain('failed: 0');
    expect(svg.match(/stroke="#d00"/g)!.length).toBe(2); // the diagonal cell + the legend swatch
    expect(svg).toContain('>—<');
  });
  it('colour ramp is light at 0 and dark at 1 with readable text', () => {
    expect(heatColour(0)).toEqual({ fill: 'rgb(255,255,204)', text: '#111' });
    expect(heatColour(1)).toEqual({ fill: 'rgb(37,52,148)', text: '#fff' });
    expect(esc('"<&>')).toBe('&quot;&lt;&amp;&gt;');
  });
});
