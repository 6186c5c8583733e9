// The Health page: one metric over a chosen range and resolution (imputed points marked,
// drag to zoom), the nights' sleep stages and a day's summary.
import { api } from "../../api.js";
import * as session from "../../session.js";
import { errorBox, field, h, localInput, num, progress, section } from "../../ui.js";
import { METRICS, RESOLUTIONS, countText, drawSeries, finerFor, latestDay, metricInText, metricName, readSeries } from "./series.js";
import { readSleep, sleepView } from "./sleep.js";
import { readSummary, summaryView, utcDay } from "./summary.js";

const HOUR = 3600e3;
const DAY = 24 * HOUR;
const QUICK = [["Last 24 h", DAY, "1m"], ["Last 7 days", 7 * DAY, "1h"], ["Last 30 days", 30 * DAY, "1h"]];
const SIMULATOR_POLL_MS = 20000;
const SIMULATOR_POLLS = 30; // ten minutes: the ingester stores a day every 2 minutes

/** Render the page in ``view``; returns its cleanup. */
export async function renderHealth(view, ctx) {
  const userId = session.current().userId;
  const page = new HealthPage(view, ctx, userId);
  page.build();
  page.load();
  return () => page.close();
}

class HealthPage {
  constructor(view, ctx, userId) {
    Object.assign(this, { view, ctx, userId, chart: null, loads: null, summaryLoad: null, zoomBase: null, timer: null });
    this.state = initialState(ctx.query);
  }

  /** The page's controls and the places its parts are shown in. */
  build() {
    this.form = h("form", { class: "health-controls", "aria-label": "What to show" },
      field("Metric", { name: "metric" }, METRICS),
      field("Resolution", { name: "resolution" }, RESOLUTIONS),
      field("From", { name: "from", type: "datetime-local", step: 1, required: true }),
      field("To", { name: "to", type: "datetime-local", step: 1, required: true }),
      h("button", { type: "submit" }, "Show"));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.fromInputs();
    });
    for (const name of ["metric", "resolution"]) this.form.elements[name].addEventListener("change", () => this.fromInputs());
    const quick = h("div", { class: "quick", role: "group", "aria-label": "Quick ranges" },
      QUICK.map(([label, span, resolution]) => h("button", { type: "button", class: "secondary", onclick: () => this.quick(span, resolution) }, label)));
    this.resetZoom = h("button", { type: "button", class: "secondary reset-zoom", hidden: true, onclick: () => this.unzoom() }, "Reset zoom");
    this.status = h("div", { class: "series-status" });
    this.chartBox = h("div", { class: "chart-box" });
    this.sleep = h("div", {});
    this.dayInput = h("input", { type: "date", id: "f-summary-day", name: "day" });
    this.dayInput.addEventListener("change", () => this.loadSummary(this.dayInput.value));
    this.summary = h("div", {});
    this.view.append(
      h("h1", {}, "Health"),
      section("Chart", this.form, quick, this.status, this.chartBox,
        h("p", { class: "muted" }, "Drag across the chart to zoom in; the zoomed range is read again at a finer resolution when it is short enough."),
        this.resetZoom),
      section("Sleep", this.sleep),
      section("Day summary", dayForm(this.dayInput), this.summary));
  }

  /** Read the controls into the state and load it (a new choice ends any zoom). */
  fromInputs() {
    const { metric, resolution, from, to } = this.form.elements;
    const start = new Date(from.value);
    const end = new Date(to.value);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
      this.status.replaceChildren(h("p", { class: "error", role: "alert" }, "Choose a start and an end for the range."));
      return;
    }
    // Checked here, as the watch-log extract does: the API would refuse it anyway, less clearly.
    if (start >= end) {
      this.status.replaceChildren(h("p", { class: "error", role: "alert" }, "The start of the range must be before its end."));
      return;
    }
    this.zoomBase = null;
    this.state = { metric: metric.value, resolution: resolution.value, from: start, to: end };
    this.load();
  }

  quick(span, resolution) {
    const to = new Date();
    this.zoomBase = null;
    this.state = { ...this.state, from: new Date(to.getTime() - span), to, resolution };
    this.load();
  }

  zoom(min, max) {
    this.zoomBase ??= { ...this.state };
    const resolution = finerFor(max - min, this.state.resolution);
    this.state = { ...this.state, from: new Date(min * 1000), to: new Date(max * 1000), resolution };
    this.load();
  }

  unzoom() {
    this.state = this.zoomBase;
    this.zoomBase = null;
    this.load();
  }

  /** Load the chart, then the sleep and summary of its range; earlier loads are dropped. */
  async load() {
    this.loads?.abort();
    this.loads = new AbortController();
    const signal = AbortSignal.any([this.ctx.signal, this.loads.signal]);
    this.showInputs();
    this.dropChart();
    this.loadSleep(signal);
    const latest = await this.loadSeries(signal);
    if (!signal.aborted) this.loadSummary(utcDay(latest || new Date(this.state.to.getTime() - 1)), signal);
  }

  /** The chart of the state; resolves to the time of its last point (null: none shown). */
  async loadSeries(signal) {
    const note = progress(`Loading ${metricName(this.state.metric)}…`);
    this.status.replaceChildren(note);
    try {
      const result = await readSeries(this.userId, this.state, {
        signal,
        onPage: (count) => (note.textContent = `Loading ${metricName(this.state.metric)}… ${num(count)} points so far`),
      });
      if (!result.points.length) {
        await this.showEmpty(signal);
        return null;
      }
      const chart = await drawSeries(this.chartBox, { ...this.state, ...result }, (min, max) => this.zoom(min, max));
      // A load left behind while it drew must not overwrite the newer load's chart or status.
      if (signal.aborted) {
        chart.destroy();
        return null;
      }
      this.chart = chart;
      this.status.replaceChildren(countText(result, this.state.resolution));
      return new Date(result.points.at(-1).time);
    } catch (error) {
      if (error?.name !== "AbortError" && !signal.aborted) this.status.replaceChildren(errorBox(error));
      return null;
    }
  }

  /** Nothing in the range: point to the latest day there is, or offer the simulator. */
  async showEmpty(signal) {
    const name = metricInText(this.state.metric);
    this.status.replaceChildren(progress("Looking for your latest data…"));
    const latest = await latestDay(this.userId, this.state.metric, signal);
    if (latest) {
      this.status.replaceChildren(h("p", { class: "empty" },
        `No ${name} data between ${this.state.from.toLocaleString()} and ${this.state.to.toLocaleString()}. `,
        `Your latest is from ${utcDay(latest)} (UTC). `),
      h("button", { type: "button", onclick: () => this.showDay(latest) }, `Show ${utcDay(latest)}`));
      return;
    }
    this.status.replaceChildren(h("p", { class: "empty" }, `No ${name} data has been recorded for you yet.`), this.simulatorOffer());
  }

  showDay(day) {
    const from = new Date(`${utcDay(day)}T00:00:00Z`);
    this.zoomBase = null;
    this.state = { ...this.state, from, to: new Date(from.getTime() + DAY), resolution: "1m" };
    this.load();
  }

  /** The button that links a simulated watch, then waits for its first day. */
  simulatorOffer() {
    const told = h("p", { role: "status", "aria-live": "polite" });
    const button = h("button", { type: "button" }, "Link a simulated watch");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const answer = await api(`/users/${encodeURIComponent(this.userId)}/health-metrics/simulator`, { method: "POST", signal: this.ctx.signal });
        told.textContent = `${answer.created ? "Linked" : "Already linked"}: the simulated watch stores a day every couple of minutes. This page shows the first one when it arrives.`;
        this.waitForData(SIMULATOR_POLLS);
      } catch (error) {
        if (error?.name === "AbortError") return;
        told.replaceChildren(errorBox(error));
        button.disabled = false;
      }
    });
    return h("div", { class: "simulator" },
      h("p", {}, "A simulated Fitbit Charge 6 can fill your dashboard: heart rate, SpO2, HRV, breathing rate, steps, zone minutes and sleep, one day every couple of minutes."),
      button, told);
  }

  /** Poll for the simulator's first day (one timer at a time, however often it is linked). */
  waitForData(polls) {
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      this.timer = null;
      const latest = await latestDay(this.userId, this.state.metric, this.ctx.signal).catch(() => null);
      if (latest) this.showDay(latest);
      else if (polls > 1 && !this.ctx.signal.aborted) this.waitForData(polls - 1);
    }, SIMULATOR_POLL_MS);
  }

  async loadSleep(signal) {
    this.sleep.replaceChildren(progress("Loading sleep…"));
    try {
      this.sleep.replaceChildren(...[sleepView(await readSleep(this.userId, this.state, signal))].flat());
    } catch (error) {
      if (!signal.aborted) this.sleep.replaceChildren(errorBox(error));
    }
  }

  /** The summary of ``day``; a newer choice of day drops this one's answer. */
  async loadSummary(day, loadSignal = this.ctx.signal) {
    this.summaryLoad?.abort();
    this.summaryLoad = new AbortController();
    const signal = AbortSignal.any([loadSignal, this.summaryLoad.signal]);
    this.dayInput.value = day;
    this.summary.replaceChildren(progress("Loading the day's summary…"));
    try {
      const summary = await readSummary(this.userId, day, signal);
      if (!signal.aborted) this.summary.replaceChildren(summaryView(summary));
    } catch (error) {
      if (!signal.aborted) this.summary.replaceChildren(errorBox(error));
    }
  }

  /** The controls show the state; the address keeps it (a reload shows the same). */
  showInputs() {
    const { metric, resolution, from, to } = this.form.elements;
    metric.value = this.state.metric;
    resolution.value = this.state.resolution;
    from.value = localInput(this.state.from);
    to.value = localInput(this.state.to);
    this.resetZoom.hidden = !this.zoomBase;
    const query = new URLSearchParams({ metric: metric.value, resolution: resolution.value, from: this.state.from.toISOString(), to: this.state.to.toISOString() });
    history.replaceState(null, "", `${location.pathname}?${query}`);
  }

  dropChart() {
    this.chart?.destroy();
    this.chart = null;
    this.chartBox.replaceChildren();
  }

  close() {
    this.loads?.abort();
    this.summaryLoad?.abort();
    clearTimeout(this.timer);
    this.dropChart();
  }
}

// A form row (not stretched to the section's width) for the summary's day.
function dayForm(input) {
  const form = h("form", { "aria-label": "Day of the summary" }, h("div", { class: "field" }, h("label", { for: input.id }, "Day (UTC)"), input));
  form.addEventListener("submit", (event) => event.preventDefault());
  return form;
}

// The address's choices where they make sense; else heart rate, 1 minute, the last 24 h.
function initialState(query) {
  const metric = METRICS.some(([value]) => value === query.get("metric")) ? query.get("metric") : "heart_rate";
  const resolution = RESOLUTIONS.some(([value]) => value === query.get("resolution")) ? query.get("resolution") : "1m";
  const to = validDate(query.get("to")) || new Date();
  const from = validDate(query.get("from")) || new Date(to.getTime() - DAY);
  return { metric, resolution, from, to };
}

function validDate(text) {
  const date = text ? new Date(text) : null;
  return date && !Number.isNaN(date.getTime()) ? date : null;
}

