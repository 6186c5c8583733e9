// Reports over the filtered range: steps per hour (a time chart) and per day (bars), from
// GET /watch-logs/aggregates; and the ingestion pipeline's streams.
import { api } from "../../api.js";
import { h, show, loading, table, num } from "../../ui.js";
import { timeChart, barChart } from "../../charts.js";

/** Hourly and daily charts of ``query``'s range; ``signal`` aborted destroys the chart. */
export function charts(container, query, signal) {
  const { page_size: _size, ...filter } = query;
  const hourly = h("div", { class: "chart-box" });
  const daily = h("div", { class: "chart-box" });
  show(container, hourly, daily);
  (async () => {
    try {
      const hours = await loading(hourly, bucketed(filter, "hour", signal), "Loading the hourly chart…");
      if (signal.aborted) return;
      show(hourly);
      if (hours.times.length) await chartUntilAborted(hourly, hourChart(hours), signal);
      else show(hourly, h("p", { class: "empty" }, "No entries in this range: nothing to chart."));
      const days = await loading(daily, bucketed(filter, "day", signal), "Loading the daily totals…");
      if (!signal.aborted) show(daily, dayBars(days));
    } catch {
      // loading() shows the reason in the box that failed
    }
  })();
}

// timeChart may resolve after the abort (uPlot loads lazily): destroy it then too.
async function chartUntilAborted(container, options, signal) {
  const chart = await timeChart(container, options);
  if (signal.aborted) return chart.destroy();
  signal.addEventListener("abort", () => chart.destroy(), { once: true });
}

// The API's buckets are per user: summed over users per start (epoch seconds).
async function bucketed(filter, bucket, signal) {
  const answer = await api("/watch-logs/aggregates", { query: { ...filter, bucket }, signal });
  const byStart = new Map();
  for (const row of answer.buckets) {
    const sum = byStart.get(row.start) || { steps: 0, active: 0, samples: 0 };
    sum.steps += row.steps;
    sum.active += row.active_minutes;
    sum.samples += row.samples;
    byStart.set(row.start, sum);
  }
  const starts = [...byStart.keys()].sort();
  return { starts, times: starts.map((start) => Date.parse(start) / 1000), sums: starts.map((start) => byStart.get(start)) };
}

function hourChart(hours) {
  return {
    title: "Steps per hour",
    unit: "steps",
    times: hours.times,
    series: [{ label: "Steps", values: hours.sums.map((sum) => sum.steps), points: "#1f5fbf" }],
  };
}

function dayBars(days) {
  const rows = (pick) => days.starts.map((start, index) => ({ label: start.slice(0, 10), value: pick(days.sums[index]) }));
  return h("div", { class: "grid" },
    barChart("Steps per day (UTC)", rows((sum) => sum.steps), (value) => num(value)),
    barChart("Active minutes per day (UTC)", rows((sum) => sum.active), (value) => num(value, 1)),
    barChart("Samples per day (UTC)", rows((sum) => sum.samples), (value) => num(value)));
}

/** The pipeline's streams: length, the reporting group's lag and pending, dead letters. */
export async function pipeline(signal) {
  const answer = await api("/watch-logs/pipeline", { signal });
  const columns = [
    ["Stream", (row) => h("code", {}, row.stream)],
    ["Length", (row) => num(row.length)],
    ["Lag", (row) => num(row.lag)],
    ["Pending", (row) => num(row.pending)],
    ["Dead letters", (row) => (row.dead_letters ? h("span", { class: "error" }, num(row.dead_letters)) : "0")],
  ];
  const behind = answer.streams.reduce((sum, row) => sum + row.lag + row.pending, 0);
  return [
    h("p", { class: behind ? "muted" : "ok" }, behind ? `${num(behind)} entries not yet summarised.` : "The reporting consumer is up to date."),
    h("div", { class: "table-wrap" }, table(`${answer.streams.length} partition streams`, columns, answer.streams)),
  ];
}
