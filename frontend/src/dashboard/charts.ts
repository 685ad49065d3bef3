/** chart.js configurations for the dashboard's series (the series come from series.ts). */
import type { ChartConfiguration } from "chart.js";

import { PALETTE } from "./ChartBox";
import type { Bars, GroupedBars, Series, XY } from "./series";

const fixed = (digits: number) => (value: number) => value.toFixed(digits);

export function lineChart(
  series: Series[],
  axes: { x: string; y: string; yMax?: number; xMax?: number },
  opts: { showLine?: boolean; extra?: Series[] } = {},
): ChartConfiguration {
  const extra = (opts.extra ?? []).map((s) => ({
    label: s.label,
    data: s.points,
    borderColor: "#6e7681",
    borderDash: [4, 4],
    pointRadius: 0,
    showLine: true,
  }));
  return {
    type: "scatter",
    data: {
      datasets: [
        ...series.map((s, i) => ({
          label: s.label,
          data: s.points,
          borderColor: PALETTE[i % PALETTE.length],
          backgroundColor: PALETTE[i % PALETTE.length],
          showLine: opts.showLine ?? true,
          // A null y (a version without a test AUC) is a visible gap, never bridged.
          spanGaps: false,
          pointRadius: 3,
        })),
        ...extra,
      ],
    },
    options: {
      scales: {
        x: { title: { display: true, text: axes.x }, min: 0, max: axes.xMax },
        y: { title: { display: true, text: axes.y }, min: 0, max: axes.yMax },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (ctx) => {
              const p = ctx.raw as XY;
              const y = p.y === null ? "n/a" : +p.y.toFixed(4);
              return `${ctx.dataset.label}: ${axes.x} ${+p.x.toFixed(4)}, ${axes.y} ${y}`;
            },
          },
        },
      },
    },
  };
}

export function barChart(
  bars: Bars,
  label: string,
  color = PALETTE[0],
  digits = 0,
): ChartConfiguration {
  return {
    type: "bar",
    data: { labels: bars.labels, datasets: [{ label, data: bars.values, backgroundColor: color }] },
    options: {
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (ctx) => `${label}: ${fixed(digits)(ctx.parsed.y ?? 0)}` } },
      },
      scales: { y: { beginAtZero: true } },
    },
  };
}

/** Side-by-side bars per category, on a 0..1 scale (agreement shares, Dice). */
export function groupedBarChart(bars: GroupedBars, digits = 2): ChartConfiguration {
  return {
    type: "bar",
    data: {
      labels: bars.labels,
      datasets: bars.groups.map((g, i) => ({
        label: g.label,
        data: g.values,
        backgroundColor: PALETTE[(i + 1) % PALETTE.length],
      })),
    },
    options: {
      plugins: {
        tooltip: {
          callbacks: {
            label: (ctx) =>
              `${ctx.dataset.label}: ${ctx.parsed.y === null ? "—" : fixed(digits)(ctx.parsed.y)}`,
          },
        },
      },
      scales: { y: { beginAtZero: true, max: 1 } },
    },
  };
}
