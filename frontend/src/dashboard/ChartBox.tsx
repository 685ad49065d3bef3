/**
 * One chart.js chart in a titled box. The values it plots are also written, as JSON, to the
 * box's data-points attribute: the browser tests compare them with the API.
 */
import { Chart, registerables, type ChartConfiguration, type Plugin } from "chart.js";
import { useEffect, useRef } from "react";

Chart.register(...registerables);
Chart.defaults.color = "#9aa7b4";
Chart.defaults.borderColor = "#2d3742";

/**
 * Mirrors the tooltip chart.js draws on hover into the box's data-tooltip attribute, so a test
 * (or a screen reader user tabbing through the data-points) can read the hovered numbers.
 */
const tooltipMirror: Plugin = {
  id: "tooltipMirror",
  afterDraw(chart) {
    const box = chart.canvas.closest("[data-chart]");
    if (!box) return;
    const tip = chart.tooltip;
    const text =
      tip && tip.opacity > 0 ? [...tip.title, ...tip.body.flatMap((b) => b.lines)].join(" | ") : "";
    if (box.getAttribute("data-tooltip") !== text) box.setAttribute("data-tooltip", text);
  },
};

export const PALETTE = ["#2f81f7", "#3fb950", "#f85149", "#d29922", "#a371f7", "#39c5cf"];

interface Props {
  id: string;
  title: string;
  config: ChartConfiguration;
  points: unknown;
  empty?: string | null;
  height?: number;
}

export function ChartBox({ id, title, config, points, empty, height = 220 }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  const serialized = JSON.stringify(points);
  // The chart is redrawn when the points or the chart type change, not for each render's new
  // config object; the latest config is read from here (set first, in the same commit).
  const configRef = useRef(config);
  useEffect(() => {
    configRef.current = config;
  });
  const type = config.type;

  useEffect(() => {
    if (!canvas.current) return;
    const config = configRef.current;
    const options = {
      animation: false as const,
      maintainAspectRatio: false,
      // Hovering anywhere shows the nearest value: numbers on hover without aiming at a dot.
      interaction: {
        mode: config.type === "bar" ? ("index" as const) : ("nearest" as const),
        intersect: false,
      },
      ...config.options,
    };
    if (
      chart.current &&
      chart.current.canvas === canvas.current &&
      (chart.current.config as { type?: string }).type === config.type
    ) {
      // Update in place so a polled chart keeps its hover tooltip instead of flickering.
      chart.current.data = config.data;
      chart.current.options = options;
      chart.current.update("none");
    } else {
      chart.current?.destroy();
      chart.current = new Chart(canvas.current, { ...config, options, plugins: [tooltipMirror] });
    }
  }, [serialized, type]);

  useEffect(
    () => () => {
      chart.current?.destroy();
      chart.current = null;
    },
    [],
  );

  return (
    <section
      className="dash-card"
      data-testid={`chart-${id}`}
      data-chart={id}
      data-points={serialized}
    >
      <h2>{title}</h2>
      {empty ? (
        <p className="muted small">{empty}</p>
      ) : (
        <div style={{ position: "relative", height }}>
          <canvas ref={canvas} role="img" aria-label={title} />
        </div>
      )}
    </section>
  );
}
