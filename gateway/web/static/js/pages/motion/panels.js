// The seed 003 dashboard's panels for one device: the current activity and its confidence,
// the timeline as a coloured strip (and a table), the distribution, the newest records.
import { api } from "../../api.js";
import { barChart } from "../../charts.js";
import { duration, h, num, table, when } from "../../ui.js";

export const ACTIVITIES = [["stationary", "Stationary"], ["walking", "Walking"], ["running", "Running"], ["unknown", "Unknown"]];
const MAX_PAGES = 20; // 20,000 segments: far more than an hour or a day can hold
const RECENT_RECORDS = 20;
const RECORDS_LOOKBACK_MS = 5 * 60e3; // the newest records lie just before the last window's end

/** An activity's name for people. */
export function activityName(activity) {
  return ACTIVITIES.find(([value]) => value === activity)?.[1] || "Unknown";
}

function devicePath(device) {
  return `/devices/${encodeURIComponent(device)}/activity`;
}

/** The device's current activity. */
export function readCurrent(device, signal) {
  return api(devicePath(device), { signal });
}

/** Every segment of [from, to), following next_page_token (bounded). */
export async function readTimeline(device, { from, to }, signal) {
  const segments = [];
  let token = "";
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await api(`${devicePath(device)}/timeline`, {
      signal,
      query: { from: from.toISOString(), to: to.toISOString(), page_size: 1000, page_token: token },
    });
    segments.push(...answer.segments);
    token = answer.next_page_token;
    if (!token) break;
  }
  return segments;
}

/** Seconds per activity in [from, to). */
export async function readDistribution(device, { from, to }, signal) {
  const answer = await api(`${devicePath(device)}/distribution`, {
    signal,
    query: { from: from.toISOString(), to: to.toISOString() },
  });
  return answer.seconds;
}

/** The newest records up to ``windowEnd`` (an RFC 3339 time), newest first. */
export async function readRecords(device, windowEnd, signal) {
  if (!windowEnd) return [];
  const end = new Date(Date.parse(windowEnd) + 1000);
  const answer = await api(`${devicePath(device)}/records`, {
    signal,
    query: { from: new Date(end.getTime() - RECORDS_LOOKBACK_MS).toISOString(), to: end.toISOString(), page_size: 1000 },
  });
  return answer.records.slice(-RECENT_RECORDS).reverse();
}

/** The current activity, large, with its confidence as a gauge. */
export function currentView(state) {
  if (!state.window_end) return [h("p", { class: "motion-now" }, "Unknown"), h("p", { class: "muted" }, "No window of this device has been classified yet.")];
  const percent = Math.round(state.confidence * 100);
  return [
    h("p", { class: `motion-now act-text-${state.activity}` }, activityName(state.activity)),
    h("p", { class: "motion-confidence" },
      h("label", { for: "motion-confidence" }, `Confidence ${percent} %`),
      h("meter", { id: "motion-confidence", min: 0, max: 1, value: state.confidence, low: 0.6, optimum: 1 })),
    h("p", { class: "muted" }, `Since ${when(state.since)}; last window ended ${when(state.window_end)}.`),
  ];
}

/** The segments as a strip over [from, to), a legend, and the newest ones as a table. */
export function timelineView(segments, { from, to }) {
  if (!segments.length) return h("p", { class: "empty" }, `No activity between ${when(from)} and ${when(to)}.`);
  const span = to.getTime() - from.getTime();
  const strip = h("div", { class: "activity-strip", role: "img", "aria-label": stripSummary(segments) },
    segments.map((segment) => {
      const start = Math.max(0, Date.parse(segment.start) - from.getTime());
      const part = h("span", { class: `act-${segment.activity}` });
      part.style.left = `${(start / span) * 100}%`; // CSSOM: CSP-safe
      part.style.width = `${((Date.parse(segment.end) - Date.parse(segment.start)) / span) * 100}%`;
      return part;
    }));
  const newest = segments.slice(-10).reverse();
  return [
    strip,
    h("p", { class: "strip-axis muted" }, h("span", {}, when(from)), h("span", {}, when(to))),
    legend(),
    h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Latest segments" }, table(`Latest ${newest.length} of ${num(segments.length)} segments`, [
      ["Activity", (s) => activityName(s.activity)],
      ["From", (s) => when(s.start)],
      ["To", (s) => when(s.end)],
      ["Lasted", (s) => duration((Date.parse(s.end) - Date.parse(s.start)) / 1000)],
      ["Confidence", (s) => `${Math.round(s.confidence * 100)} %`],
    ], newest)),
  ];
}

function stripSummary(segments) {
  const seconds = totals(segments);
  const parts = ACTIVITIES.filter(([value]) => seconds[value]).map(([value, label]) => `${label} ${duration(seconds[value])}`);
  return `Activity timeline: ${segments.length} segments; ${parts.join(", ")}`;
}

function totals(segments) {
  const seconds = {};
  for (const s of segments) seconds[s.activity] = (seconds[s.activity] || 0) + (Date.parse(s.end) - Date.parse(s.start)) / 1000;
  return seconds;
}

function legend() {
  return h("p", { class: "activity-legend", "aria-hidden": "true" }, ACTIVITIES.map(([value, label]) =>
    h("span", {}, h("span", { class: `swatch act-${value}` }), label)));
}

/** Seconds per activity as bars. */
export function distributionView(seconds) {
  const rows = ACTIVITIES.map(([value, label]) => ({ label, value: seconds[value] || 0 }));
  const chart = barChart("Time per activity", rows.every((row) => !row.value) ? [] : rows, duration);
  // The timeline's colours, not the chart's by position: one colour means one activity.
  chart.querySelectorAll(".bar").forEach((bar, index) => (bar.className = `bar act-${ACTIVITIES[index][0]}`));
  return chart;
}

/** The newest records as a table. */
export function recordsView(records) {
  if (!records.length) return h("p", { class: "empty" }, "No records yet.");
  return h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Newest records" }, table(`The ${records.length} newest records`, [
    ["Window end", (r) => when(r.window_end)],
    ["Activity", (r) => activityName(r.activity)],
    ["Confidence", (r) => `${Math.round(r.confidence * 100)} %`],
    ["Magnitude (m/s²)", (r) => num(r.magnitude, 2)],
    ["Dynamic RMS", (r) => num(r.dynamic_rms, 2)],
    ["Cadence (Hz)", (r) => num(r.cadence_hz, 2)],
    ["Samples", (r) => num(r.samples)],
  ], records));
}
