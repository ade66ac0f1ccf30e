// The SVG line charts the benchmarks and experiments draw: labels, ticks, bands.

import { describe, expect, it } from 'vitest';
import { lineChart } from '../../paper/svg.ts';

const ticks = (svg: string): string[] => [...svg.matchAll(/text-anchor="(?:middle|end)">([^<]+)<\/text>/g)].map((m) => m[1]!);

describe('lineChart', () => {
  it('labels every series (escaped), draws markers, a band polygon and dashes', () => {
    const svg = lineChart(
      [
        { label: 'lin-RFM <alpha = 1/2>', color: '#1f77b4', points: [[1, 1e-1], [2, 1e-3]], band: [[1, 5e-2, 2e-1], [2, 1e-4, 1e-2]] },
        { label: 'IRLS p=0 & eps', color: '#ff7f0e', points: [[1, 0.5], [2, 0.2]], dashed: true },
      ],
      { title: 'T', xLabel: 'x', yLabel: 'y', logY: true },
    );
    expect(svg).toContain('lin-RFM &lt;alpha = 1/2&gt;');
    expect(svg).toContain('IRLS p=0 &amp; eps');
    expect(svg.match(/<circle /g)!.length).toBe(4);
    expect(svg.match(/<polygon /g)!.length).toBe(1);
    expect(svg).toContain('stroke-dasharray');
    // the band widens the y range: its low end 1e-4 is on the axis
    expect(ticks(svg)).toContain('1e-4');
  });

  it('tells 10,000 from 12,500 on a linear axis', () => {
    const svg = lineChart([{ label: 'a', color: 'red', points: [[10_000, 1], [12_500, 2], [20_000, 3]] }], { title: 'T', xLabel: 'x', yLabel: 'y' });
    const t = ticks(svg);
    expect(t).toContain('10,000');
    expect(t).toContain('12,000');
    expect(new Set(t).size).toBe(t.length);
  });
});
