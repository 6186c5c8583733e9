// Watch logs (analysts and admins): extract every user's entries by user and time range,
// page through them, export them as a file, chart them per hour and day, and see the
// ingestion pipeline.
import { h, show } from "../ui.js";
import { filterForm, results } from "./watch_logs/extract.js";
import { charts, pipeline } from "./watch_logs/reports.js";
import { panel } from "../panel.js";

async function renderWatchLogs(view, ctx) {
  const resultBox = h("div", {}, h("p", { class: "muted" }, "Choose a user and a range, then press Show."));
  const chartBox = h("div", {});
  // One controller per Show: the next Show or leaving the page cancels the loads still
  // running and destroys the charts, including one whose timeChart resolves later.
  let shown = null;
  const onShow = (query) => {
    shown?.abort();
    shown = new AbortController();
    const signal = AbortSignal.any([ctx.signal, shown.signal]);
    show(resultBox, results(query, signal));
    charts(chartBox, query, signal);
  };
  const refresh = h("button", { type: "button", class: "secondary", onclick: () => streams.refresh() }, "Refresh pipeline");
  const streams = panel("Pipeline", pipeline, { signal: ctx.signal, tools: [refresh] });
  show(view,
    h("h1", {}, "Watch logs"),
    h("section", { "aria-label": "Extraction" }, h("h2", {}, "Extraction"), filterForm(onShow, ctx.query), resultBox),
    h("section", { "aria-label": "Hourly and daily" }, h("h2", {}, "Hourly and daily"), chartBox),
    streams.element);
  streams.refresh();
  if (ctx.query.get("user")) view.querySelector("form").requestSubmit(); // a link to one user's logs
  return () => shown?.abort();
}

// The page code by path; its menu entry (title, roles) is in pages/index.js.
export const renders = { "watch-logs": renderWatchLogs };
