/**
 * A line plot as inline SVG (no script, so it shows in any browser, offline, and in a test's string): one
 * line per series, each point its mean with a ± sd error bar, numeric axes with round ticks.
 */

export interface PlotPoint {
  x: number;
  mean: number;
  sd: number;
  /** seeds behind the point (written in its tooltip) */
  n: number;
}

export interface PlotSeries {
  name: string;
  points: PlotPoint[];
}

export interface LinePlot {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  /** how an x tick is written (default: the number) */
  formatX?: (x: number) => string;
  /** x ticks at these values (default: round values across the range) */
  xTicks?: number[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

export const plotColour = (i: number) => PALETTE[i % PALETTE.length]!;

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** about `count` round tick values covering [lo, hi] */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

const round = (x: number) => +x.toFixed(1);

export function lineChartSvg(plot: LinePlot): string {
  const W = 720;
  const H = 380;
  const m = { left: 60, right: 210, top: 34, bottom: 48 };
  const pts = plot.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.mean));
  if (pts.length === 0) return `<p>(${esc(plot.title)}: no points yet)</p>`;
  const fmtX = plot.formatX ?? ((x: number) => String(+x.toPrecision(4)));
  const xs = pts.map((p) => p.x);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const padX = (x1 - x0) * 0.05;
  [x0, x1] = [Math.max(0, x0 - padX), x1 + padX];
  const ys = pts.flatMap((p) => [p.mean - p.sd, p.mean + p.sd]);
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const padY = Math.max((y1 - y0) * 0.1, 1);
  [y0, y1] = [Math.max(0, y0 - padY), y1 + padY];
  const px = (x: number) => round(m.left + ((x - x0) / (x1 - x0)) * (W - m.left - m.right));
  const py = (y: number) => round(H - m.bottom - ((y - y0) / (y1 - y0)) * (H - m.top - m.bottom));
  const parts: string[] = [];
  const xTicks = plot.xTicks ?? niceTicks(x0, x1);
  const yTicks = niceTicks(y0, y1);
  for (const t of yTicks)
    parts.push(
      `<line x1="${m.left}" x2="${W - m.right}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/><text x="${m.left - 6}" y="${py(t) + 4}" text-anchor="end">${esc(String(t))}</text>`,
    );
  for (const t of xTicks)
    parts.push(
      `<line x1="${px(t)}" x2="${px(t)}" y1="${H - m.bottom}" y2="${H - m.bottom + 4}" stroke="#444"/><text x="${px(t)}" y="${H - m.bottom + 17}" text-anchor="middle">${esc(fmtX(t))}</text>`,
    );
  parts.push(
    `<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#444"/><line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#444"/>`,
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 10}" text-anchor="middle">${esc(plot.xLabel)}</text>`,
    `<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(plot.yLabel)}</text>`,
    `<text x="${m.left}" y="20" font-weight="bold">${esc(plot.title)}</text>`,
  );
  plot.series.forEach((s, i) => {
    const colour = plotColour(i);
    const dash = DASHES[Math.floor(i / PALETTE.length) % DASHES.length]!;
    const ok = [...s.points].filter((p) => Number.isFinite(p.mean)).sort((a, b) => a.x - b.x);
    const g: string[] = [];
    if (ok.length > 1)
      g.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${ok.map((p) => `${px(p.x)},${py(p.mean)}`).join(' ')}"/>`,
      );
    for (const p of ok) {
      // the bar stops at the axis (F1 is never below 0, a bar of mean − sd may be)
      const [x, lo, hi] = [px(p.x), py(Math.max(y0, p.mean - p.sd)), py(p.mean + p.sd)];
      if (p.sd > 0)
        g.push(
          `<line class="errbar" x1="${x}" x2="${x}" y1="${lo}" y2="${hi}" stroke="${colour}"/><line x1="${x - 4}" x2="${x + 4}" y1="${lo}" y2="${lo}" stroke="${colour}"/><line x1="${x - 4}" x2="${x + 4}" y1="${hi}" y2="${hi}" stroke="${colour}"/>`,
        );
      g.push(
        `<circle cx="${x}" cy="${py(p.mean)}" r="3.5" fill="${colour}"><title>${esc(`${s.name}: ${fmtX(p.x)} → ${p.mean.toFixed(1)} ± ${p.sd.toFixed(1)} (n=${p.n})`)}</title></circle>`,
      );
    }
    const ly = m.top + 8 + i * 18;
    g.push(
      `<line x1="${W - m.right + 12}" x2="${W - m.right + 36}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/><text x="${W - m.right + 42}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
    parts.push(`<g class="series">${g.join('')}</g>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui,sans-serif" font-size="12" role="img" aria-label="${esc(plot.title)}">${parts.join('')}</svg>`;
}
