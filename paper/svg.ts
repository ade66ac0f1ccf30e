// Minimal SVG line charts for benchmark and experiment figures (log or linear axes, labelled
// series with point markers, optional spread bands, dashed lines).

export interface Series {
  label: string;
  points: [number, number][];
  color: string;
  /** A spread band drawn under the line: [x, low, high] per point (e.g. min and max over seeds). */
  band?: [number, number, number][];
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function lineChart(series: Series[], o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 440;
  const m = { l: 80, r: 200, t: 40, b: 56 };
  const tx = (v: number): number => (o.logX ? Math.log10(v) : v);
  const ty = (v: number): number => (o.logY ? Math.log10(v) : v);
  const pts = series
    .flatMap((s) => s.points.concat((s.band ?? []).flatMap(([x, lo, hi]): [number, number][] => [[x, lo], [x, hi]])))
    .filter(([x, y]) => Number.isFinite(tx(x)) && Number.isFinite(ty(y)));
  let x0 = Math.min(...pts.map((p) => tx(p[0])));
  let x1 = Math.max(...pts.map((p) => tx(p[0])));
  let y0 = Math.min(...pts.map((p) => ty(p[1])));
  let y1 = Math.max(...pts.map((p) => ty(p[1])));
  if (o.logY) {
    y0 = Math.floor(y0);
    y1 = Math.ceil(y1);
  }
  if (o.logX) {
    x0 = Math.floor(x0);
    x1 = Math.ceil(x1);
  }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const px = (v: number): number => m.l + ((tx(v) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (v: number): number => H - m.b - ((ty(v) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`);
  // axes and ticks
  out.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`);
  out.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`);
  const ticks = (a: number, b: number, log: boolean | undefined): number[] => {
    if (log) {
      const t: number[] = [];
      for (let e = Math.ceil(a); e <= Math.floor(b); e++) t.push(10 ** e);
      return t;
    }
    const step = niceStep((b - a) / 6);
    const t: number[] = [];
    for (let v = Math.ceil(a / step) * step; v <= b + 1e-9; v += step) t.push(v);
    return t;
  };
  // 12,500 and 10,000 must read differently: digits with separators up to a million, powers beyond
  const fmt = (v: number): string => {
    const a = Math.abs(v);
    if (a >= 1e6 || (a < 1e-2 && v !== 0)) return v.toExponential(a >= 1e6 && !Number.isInteger(v / 10 ** Math.floor(Math.log10(a))) ? 1 : 0);
    if (a >= 1e4) return (+v.toPrecision(4)).toLocaleString('en-US');
    return String(+v.toPrecision(3));
  };
  for (const v of ticks(x0, x1, o.logX)) {
    const x = px(v);
    out.push(`<line x1="${x}" y1="${H - m.b}" x2="${x}" y2="${H - m.b + 5}" stroke="black"/><text x="${x}" y="${H - m.b + 18}" text-anchor="middle">${fmt(v)}</text>`);
    out.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${H - m.b}" stroke="#eee"/>`);
  }
  for (const v of ticks(y0, y1, o.logY)) {
    const y = py(v);
    out.push(`<line x1="${m.l - 5}" y1="${y}" x2="${m.l}" y2="${y}" stroke="black"/><text x="${m.l - 8}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`);
    out.push(`<line x1="${m.l}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#eee"/>`);
  }
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 14}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  const fin = ([x, y]: [number, number]): boolean => Number.isFinite(tx(x)) && Number.isFinite(ty(y));
  for (const s of series) {
    const band = (s.band ?? []).filter(([x, lo, hi]) => fin([x, lo]) && fin([x, hi]));
    if (band.length < 2) continue;
    const upper = band.map(([x, , hi]) => `${px(x).toFixed(1)},${py(hi).toFixed(1)}`);
    const lower = band.map(([x, lo]) => `${px(x).toFixed(1)},${py(lo).toFixed(1)}`).reverse();
    out.push(`<polygon points="${upper.concat(lower).join(' ')}" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`);
  }
  series.forEach((s, k) => {
    const good = s.points.filter(([x, y]) => Number.isFinite(tx(x)) && Number.isFinite(ty(y)));
    if (good.length > 0) {
      const d = good.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      for (const [x, y] of good) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    const ly = m.t + 10 + k * 20;
    out.push(`<line x1="${W - m.r + 12}" y1="${ly}" x2="${W - m.r + 36}" y2="${ly}" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${W - m.r + 42}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}
