// Charts: time series through uPlot (pinned, served by the gateway, loaded on first use),
// bars as plain HTML (readable by screen readers as they are).
import { h, num } from "./ui.js";

let loadingUplot = null;

/** uPlot, loaded on the first chart so pages without one never fetch it. */
export function uplot() {
  loadingUplot ??= new Promise((resolve, reject) => {
    if (window.uPlot) return resolve(window.uPlot);
    document.head.append(h("link", { rel: "stylesheet", href: "/app/vendor/uplot.css" }));
    const script = h("script", { src: "/app/vendor/uplot.js" });
    script.onload = () => resolve(window.uPlot);
    script.onerror = () => {
      loadingUplot = null;
      reject(new Error("the chart library could not be loaded"));
    };
    document.head.append(script);
  });
  return loadingUplot;
}

export const COLORS = ["#1f5fbf", "#b3261e", "#1b7f3b", "#8a4baf", "#a15c00", "#00707a"];

/**
 * A time-series chart in ``container``; returns the uPlot instance (destroy() it on leave).
 * times: epoch seconds. series: [{label, values, color?, dash?, points?, width?}].
 * Drag across to zoom (onZoom(min, max) is told, in epoch seconds); double-click resets.
 */
export async function timeChart(container, { title, unit = "", times, series, height = 260, onZoom }) {
  const UPlot = await uplot();
  const figure = h("figure", { class: "chart" }, h("figcaption", {}, title));
  const canvasBox = h("div", { role: "img", "aria-label": summary(title, unit, times, series) });
  figure.append(canvasBox);
  container.replaceChildren(figure);
  const options = {
    width: Math.max(280, canvasBox.clientWidth || container.clientWidth || 600),
    height,
    scales: { x: { time: true } },
    axes: [{}, { label: unit }],
    series: [{}, ...series.map((line, index) => seriesOptions(line, index))],
    hooks: onZoom ? { setSelect: [(chart) => zoomed(chart, onZoom)] } : {},
  };
  const chart = new UPlot(options, [times, ...series.map((line) => line.values)], canvasBox);
  const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(280, canvasBox.clientWidth), height }));
  resize.observe(canvasBox);
  const destroy = chart.destroy.bind(chart);
  chart.destroy = () => {
    resize.disconnect();
    destroy();
  };
  return chart;
}

function seriesOptions(line, index) {
  const color = line.color || COLORS[index % COLORS.length];
  return {
    label: line.label,
    stroke: color,
    width: line.width ?? 1.5,
    dash: line.dash,
    fill: line.fill,
    spanGaps: false,
    points: line.points === undefined ? { show: false } : { show: true, size: 6, stroke: color, fill: line.points },
  };
}

function zoomed(chart, onZoom) {
  const { left, width } = chart.select;
  if (width < 5) return;
  onZoom(chart.posToVal(left, "x"), chart.posToVal(left + width, "x"));
}

// What a screen reader hears for a canvas: the range and each line's extremes.
function summary(title, unit, times, series) {
  if (!times.length) return `${title}: no data`;
  const parts = series.map((line) => {
    const values = line.values.filter((value) => value !== null && value !== undefined);
    if (!values.length) return `${line.label}: none`;
    return `${line.label} from ${num(Math.min(...values), 1)} to ${num(Math.max(...values), 1)} ${unit}`;
  });
  const from = new Date(times[0] * 1000).toLocaleString();
  const to = new Date(times[times.length - 1] * 1000).toLocaleString();
  return `${title}, ${from} to ${to}: ${parts.join("; ")}`;
}

/** Horizontal bars with their values written out: [{label, value}], ``format`` per value. */
export function barChart(title, rows, format = (value) => num(value, 1)) {
  const top = Math.max(0, ...rows.map((row) => row.value));
  const bar = (row, index) => {
    const fill = h("span", { class: `bar c${index % COLORS.length}` });
    fill.style.width = `${top ? Math.round((row.value / top) * 100) : 0}%`; // CSSOM: CSP-safe
    return fill;
  };
  return h("figure", { class: "bars" },
    h("figcaption", {}, title),
    rows.length === 0 ? h("p", { class: "empty" }, "Nothing yet.") : h("ul", {}, rows.map((row, index) =>
      h("li", {},
        h("span", { class: "bar-label" }, row.label),
        h("span", { class: "bar-track", "aria-hidden": "true" }, bar(row, index)),
        h("span", { class: "bar-value" }, format(row.value))))));
}
