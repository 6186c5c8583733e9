// One UTC day's summary: resting heart rate, steps, zone minutes, night means, sleep.
import { api } from "../../api.js";
import { h, num } from "../../ui.js";

const ROWS = [
  ["Resting heart rate", (d) => d.resting_heart_rate, (v) => `${num(v)} bpm`],
  ["Steps", (d) => d.steps, (v) => num(v)],
  ["Active zone minutes", (d) => d.active_zone_minutes, (v) => num(v)],
  ["SpO2", (d) => d.spo2_mean, (v) => `${num(v, 1)} %`],
  ["HRV", (d) => d.hrv_mean, (v) => `${num(v, 1)} ms`],
  ["Breathing rate", (d) => d.breathing_rate_mean, (v) => `${num(v, 1)} /min`],
  ["Sleep", (d) => d.sleep_minutes.deep + d.sleep_minutes.light + d.sleep_minutes.rem || null, (v) => `${Math.floor(v / 60)} h ${String(Math.round(v % 60)).padStart(2, "0")} min asleep`],
];

/** The API's summary of ``day`` ("YYYY-MM-DD", UTC). */
export function readSummary(userId, day, signal) {
  return api(`/users/${encodeURIComponent(userId)}/health-summary/${day}`, { signal });
}

/** The summary as a list of figures; "—" where the day has none. */
export function summaryView(summary) {
  const known = ROWS.filter(([, pick]) => pick(summary) !== null);
  if (!known.length) return h("p", { class: "empty" }, `No health data for ${summary.day} (UTC).`);
  return h("dl", { class: "summary" }, ROWS.map(([label, pick, format]) => {
    const value = pick(summary);
    return h("div", {}, h("dt", {}, label), h("dd", {}, value === null ? "—" : format(value)));
  }));
}

/** "YYYY-MM-DD" of a moment, in UTC (the API's days are UTC). */
export function utcDay(moment) {
  return moment.toISOString().slice(0, 10);
}
