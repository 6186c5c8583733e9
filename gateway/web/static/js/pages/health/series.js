// One metric's series: every page of a range (bounded), its chart with the imputed
// points drawn apart, and the sentence that counts them.
import { api } from "../../api.js";
import { timeChart } from "../../charts.js";
import { h, num } from "../../ui.js";

export const METRICS = [
  ["heart_rate", "Heart rate"],
  ["spo2", "SpO2"],
  ["hrv", "HRV"],
  ["breathing_rate", "Breathing rate"],
  ["steps", "Steps"],
  ["active_zone_minutes", "Active zone minutes"],
];
export const RESOLUTIONS = [["raw", "Raw"], ["1m", "1 min"], ["1h", "1 h"], ["1d", "1 day"]];
export const MAX_POINTS = 20000; // what one chart shows at most: beyond it, zoom in
const PAGE_SIZE = 10000; // the API's largest page: fewest round trips
const REAL_COLOR = "#1f5fbf";
const IMPUTED_COLOR = "#a15c00";
// The finest resolution whose points still fit a chart, by the range's length (seconds):
// raw heart rate comes about once a second.
const FINEST = [[3 * 3600, "raw"], [5 * 86400, "1m"], [300 * 86400, "1h"], [Infinity, "1d"]];
const ORDER = RESOLUTIONS.map(([value]) => value);

/** The metric's name for people. */
export function metricName(metric) {
  return METRICS.find(([value]) => value === metric)?.[1] || metric;
}

/** The metric's name inside a sentence ("heart rate", but "SpO2" and "HRV" as they are). */
export function metricInText(metric) {
  const name = metricName(metric);
  return /[A-Z]{2}/.test(name) ? name : name.toLowerCase();
}

/** The finer of ``current`` and the finest that suits a range of ``seconds``. */
export function finerFor(seconds, current) {
  const suits = FINEST.find(([limit]) => seconds <= limit)[1];
  return ORDER.indexOf(suits) < ORDER.indexOf(current) ? suits : current;
}

/** Every point of the query, following next_page_token; stops at MAX_POINTS (truncated). */
export async function readSeries(userId, query, { signal, onPage } = {}) {
  const points = [];
  let token = "";
  let unit = "";
  do {
    const page = await api(`/users/${encodeURIComponent(userId)}/health-metrics/${query.metric}`, {
      signal,
      query: { ...wireQuery(query), page_size: PAGE_SIZE, page_token: token },
    });
    unit = page.unit;
    points.push(...page.points);
    token = page.next_page_token;
    onPage?.(points.length);
  } while (token && points.length < MAX_POINTS);
  const truncated = Boolean(token) || points.length > MAX_POINTS;
  if (points.length > MAX_POINTS) points.length = MAX_POINTS;
  return { unit, points, truncated };
}

/** The API's query of a chart: gaps filled (and marked) wherever the resolution allows. */
export function wireQuery({ from, to, resolution }) {
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    resolution,
    fill: resolution === "raw" ? "none" : "linear",
  };
}

/** The day (UTC) of the newest point of ``metric`` in the last 400 days, or null. */
export async function latestDay(userId, metric, signal) {
  const to = new Date();
  const from = new Date(to.getTime() - 399 * 86400e3);
  const page = await api(`/users/${encodeURIComponent(userId)}/health-metrics/${metric}`, {
    signal,
    query: { from: from.toISOString(), to: to.toISOString(), resolution: "1d", page_size: 1000 },
  });
  const last = page.points.at(-1);
  return last ? new Date(last.time) : null;
}

/** Draw the series in ``box``: real points as a line, imputed ones dashed with marks. */
export function drawSeries(box, { metric, unit, points, resolution }, onZoom) {
  const shown = withBreaks(points, resolution);
  const values = (keep) => shown.map((point) => (point.value !== null && keep(point) ? point.value : null));
  return timeChart(box, {
    title: `${metricName(metric)} (${unit})`,
    unit,
    times: shown.map((point) => point.at),
    series: [
      { label: "measured", values: values((point) => !point.imputed), color: REAL_COLOR },
      { label: "imputed", values: values((point) => point.imputed), color: IMPUTED_COLOR, dash: [6, 4], points: IMPUTED_COLOR },
    ],
    onZoom,
  });
}

const BUCKET_SECONDS = { "1m": 60, "1h": 3600, "1d": 86400 };

// The points with a null between two that are further apart than the data's own step, so
// a gap left unfilled (a watch off the wrist) is drawn as a gap, not as a straight line.
function withBreaks(points, resolution) {
  const times = points.map((point) => Date.parse(point.time) / 1000);
  const limit = resolution === "raw" ? 3 * Math.max(2, median(times)) : 1.5 * BUCKET_SECONDS[resolution];
  const out = [];
  points.forEach((point, index) => {
    if (index && times[index] - times[index - 1] > limit) out.push({ at: (times[index] + times[index - 1]) / 2, value: null });
    out.push({ ...point, at: times[index] });
  });
  return out;
}

function median(times) {
  const steps = times.slice(1).map((time, index) => time - times[index]).sort((a, b) => a - b);
  return steps.length ? steps[Math.floor(steps.length / 2)] : 0;
}

/** "1,440 points · 12 of 1,440 points imputed", and what truncation left out. */
export function countText({ points, truncated }, resolution) {
  const imputed = points.filter((point) => point.imputed).length;
  const parts = [
    h("span", { class: "point-count" }, `${num(points.length)} points`),
    " · ",
    resolution === "raw"
      ? h("span", { class: "imputed-count" }, "raw points are never imputed")
      : h("span", { class: "imputed-count legend-imputed" }, `${num(imputed)} of ${num(points.length)} points imputed`),
  ];
  if (truncated) parts.push(h("strong", {}, ` · only the first ${num(MAX_POINTS)} are shown: zoom in or choose a coarser resolution`));
  return h("p", { class: "series-count", "aria-live": "polite" }, parts);
}
