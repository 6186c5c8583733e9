// Watch logs (analysts and admins): extract every user's entries by user and time range,
// page through them, export them as a file, chart them per hour and day, and see the
// ingestion pipeline.
import { h, show } from "../ui.js";
import { filterForm, results } from "./watch_logs/extract.js";
import { charts, pipeline } from "./watch_logs/reports.js";
import { panel } from "./operations/panel.js";

async function renderWatchLogs(view, ctx) {
  const resultBox = h("div", {}, h("p", { class: "muted" }, "Choose a user and a range, then press Show."));
  const chartBox = h("div", {});
  let destroyCharts = null;
  const onShow = (query) => {
    destroyCharts?.();
    show(resultBox, results(query, ctx.signal));
    destroyCharts = charts(chartBox, query, ctx.signal);
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
  return () => destroyCharts?.();
}

export const pages = [
  { path: "watch-logs", title: "Watch logs", nav: true, roles: ["analyst", "admin"], render: renderWatchLogs },
];
