import { averageLoraAdapters } from './lora-average';
import { FAKE_TENSOR, fakeAdapter } from '../test/fake-model';

describe('averageLoraAdapters', () => {
  it('averages every tensor element-wise and keeps the config', () => {
    const a = fakeAdapter(0.2), b = fakeAdapter(0.6), c = fakeAdapter(1.0);
    c.tensors.get(FAKE_TENSOR)!.data[7] = 2;
    const avg = averageLoraAdapters([a, b, c]);
    const t = avg.tensors.get(FAKE_TENSOR)!;
    expect(t.shape).toEqual([2, 4]);
    expect(t.data[0]).toBeCloseTo(0.6, 6);
    expect(t.data[1]).toBeCloseTo(0.5, 6);
    expect(t.data[7]).toBeCloseTo(1.0, 6); // (0.5 + 0.5 + 2) / 3
    expect(avg.config).toEqual(a.config);
    expect(avg.tensors.get(FAKE_TENSOR)!.data).not.toBe(a.tensors.get(FAKE_TENSOR)!.data);
  });
  it('refuses adapters whose config or shapes differ, naming them', () => {
    const b = fakeAdapter(0.5);
    b.config = { ...b.config, r: 4 };
    expect(() => averageLoraAdapters([fakeAdapter(0.1), b], ['arc', 'obqa'])).toThrow(/adapter "obqa" has config r=4/);
    expect(() => averageLoraAdapters([fakeAdapter(0.1), fakeAdapter(0.1, 'fake/base-1', [4, 2])], ['arc', 'obqa'])).toThrow(/is \[4,2\] in adapter "obqa" but \[2,4\]/);
    expect(() => averageLoraAdapters([])).toThrow(/no adapters/);
  });
});
