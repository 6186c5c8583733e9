// Operations (admins): upstream instances with their health and breakers, sagas with
// their steps, ETL runs with their reconciliation. Refreshed every 10 s while open.
import { h, show } from "../ui.js";
import { panel } from "../panel.js";
import { upstreams } from "./operations/upstreams.js";
import { sagaBrowser } from "./operations/sagas.js";
import { etlRuns, explainEtl } from "./operations/etl.js";

const REFRESH_MS = 10000;

async function renderOperations(view, ctx) {
  const signal = ctx.signal;
  const sagas = sagaBrowser(signal);
  const panels = [
    panel("Upstream instances", upstreams, { signal }),
    panel("Sagas", sagas.list, { signal, tools: [sagas.filter] }),
    panel("ETL runs and reconciliation", etlRuns, { signal, explain: explainEtl }),
  ];
  const stamp = h("p", { class: "muted", "aria-live": "polite" });
  const refresh = async () => {
    await Promise.all(panels.map((one) => one.refresh()));
    if (!signal.aborted) stamp.textContent = `Updated at ${new Date().toLocaleTimeString()}; refreshed every 10 s.`;
  };
  sagas.filter.querySelector("select").addEventListener("change", () => panels[1].refresh());
  const button = h("button", { type: "button", onclick: refresh }, "Refresh");
  show(view, h("h1", {}, "Operations"), h("div", { class: "ops-bar" }, button, stamp), panels.map((one) => one.element));
  await refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}

// The page code by path; its menu entry (title, roles) is in pages/index.js.
export const renders = { operations: renderOperations };
