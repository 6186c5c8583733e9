// A page section (operations, watch logs) that loads itself and can be loaded again (Refresh,
// the 10 s timer) without flicker: progress only the first time, then the new content
// replaces the old when it has arrived.
import { h, show, progress } from "./ui.js";
import { humanMessage } from "./api.js";

/**
 * A refreshable panel: ``load(signal)`` resolves to the nodes to show; ``explain(error)``
 * turns a failure into a sentence (default: humanMessage). Returns {element, refresh}.
 */
export function panel(title, load, { signal, explain = humanMessage, tools = [] } = {}) {
  const body = h("div", { class: "ops-body" });
  const element = h("section", { "aria-label": title }, h("div", { class: "ops-head" }, h("h2", {}, title), ...tools), body);
  let running = null;
  let again = false;
  let loaded = false;
  async function refresh() {
    if (running) {
      again = true; // asked while loading (a filter changed): load once more after this one
      return running;
    }
    if (!loaded) show(body, progress(`Loading ${title.toLowerCase()}…`));
    running = (async () => {
      try {
        const nodes = await load(signal);
        if (signal?.aborted) return;
        show(body, nodes);
        loaded = true;
      } catch (error) {
        if (error?.name === "AbortError" || signal?.aborted) return;
        show(body, h("p", { class: "error", role: "alert" }, explain(error)));
        loaded = false;
      } finally {
        running = null;
      }
      if (again && !signal?.aborted) {
        again = false;
        await refresh();
      }
    })();
    return running;
  }
  return { element, refresh };
}

/** A table inside its scroll box; ``alert(row)`` true highlights a row. */
export function wrapped(tableElement, rows = [], alert = () => false) {
  tableElement.querySelectorAll("tbody tr").forEach((tr, index) => {
    if (alert(rows[index])) tr.classList.add("ops-alert");
  });
  return h("div", { class: "table-wrap" }, tableElement);
}

/** A status word as a badge whose colour says good, bad or neither. */
export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind ? `ops-${kind}` : ""}` }, text);
}
