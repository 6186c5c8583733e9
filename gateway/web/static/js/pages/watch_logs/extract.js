// Extraction: the filter form (user, time range, activity), the entries page by page,
// and the export of the whole range as a file.
import { api, humanMessage } from "../../api.js";
import { h, show, field, loading, table, when, num, flash, localInput } from "../../ui.js";
import { download } from "./download.js";

const ACTIVITIES = ["sleep", "rest", "walking", "running", "cycling", "swimming", "workout"];
const PAGE_SIZES = ["10", "25", "100", "500"];
const DAY_MS = 24 * 3600 * 1000;
const MB = 1024 * 1024;

/** The filter form; ``onShow(query)`` runs on submit with the API's query parameters. */
export function filterForm(onShow, initial) {
  const now = new Date();
  const form = h("form", { "aria-label": "Watch-log filter" },
    field("User id", { name: "user_id", value: initial.get("user") || "", placeholder: "any user", autocomplete: "off", spellcheck: "false" }),
    field("From", { name: "from", type: "datetime-local", required: true, value: localInput(new Date(now - DAY_MS)) }),
    field("To", { name: "to", type: "datetime-local", required: true, value: localInput(now) }),
    field("Activity", { name: "activity" }, [["", "Any activity"], ...ACTIVITIES.map((a) => [a, a])]),
    field("Page size", { name: "page_size" }, PAGE_SIZES.map((size) => [size, size])),
    h("button", { type: "submit" }, "Show"));
  form.querySelector("[name=page_size]").value = "100";
  const message = h("p", { class: "error", role: "alert", hidden: true });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = queryOf(new FormData(form));
    message.hidden = !query.error;
    message.textContent = query.error || "";
    if (!query.error) onShow(query);
  });
  return [form, message];
}

function queryOf(data) {
  const from = new Date(data.get("from"));
  const to = new Date(data.get("to"));
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return { error: "Enter both times of the range." };
  if (from >= to) return { error: "The range must start before it ends." };
  return {
    user_id: data.get("user_id").trim(),
    activity: data.get("activity"),
    from: from.toISOString(),
    to: to.toISOString(),
    page_size: data.get("page_size"),
  };
}

/** The entries of ``query``, a page at a time, with Previous/Next and the export. */
export function results(query, signal) {
  const box = h("div", {});
  const tokens = [""]; // tokens[i]: page i's token; a page is reachable once its token is known
  let index = 0;
  let current = null;
  const previous = h("button", { type: "button", class: "secondary", onclick: () => move(-1) }, "Previous page");
  const next = h("button", { type: "button", class: "secondary", onclick: () => move(1) }, "Next page");
  const where = h("span", { "aria-live": "polite" });
  const pager = h("div", { class: "wl-pager", hidden: true }, previous, where, next);
  const enable = () => {
    previous.disabled = index === 0;
    next.disabled = index + 1 >= tokens.length;
  };
  // One controller per page load; both buttons stay disabled until it ends, and a failed
  // load keeps the pager (the error shows in the box; Previous still leads back).
  async function showPage() {
    current?.abort();
    current = new AbortController();
    const pageSignal = AbortSignal.any([signal, current.signal]);
    previous.disabled = next.disabled = true;
    where.textContent = `Page ${index + 1}`;
    const page = await loading(box, api("/watch-logs", { query: { ...query, page_token: tokens[index] }, signal: pageSignal }), "Loading the entries…")
      .catch(() => null);
    if (pageSignal.aborted) return;
    if (page) {
      tokens.length = index + 1;
      if (page.next_page_token) tokens.push(page.next_page_token);
      show(box, entries(page.logs, index, Boolean(page.next_page_token)));
      pager.hidden = false;
    }
    enable();
  }
  function move(step) {
    index += step;
    showPage();
  }
  showPage();
  return h("div", {}, exportTools(query, signal), box, pager);
}

function entries(logs, index, more) {
  if (!logs.length) {
    return h("p", { class: "empty" }, more ? "No entries on this page; more follow: press Next page." : "No entries match this filter.");
  }
  const columns = [
    ["Time", (log) => when(log.timestamp)],
    ["User", (log) => h("code", {}, log.user_id)],
    ["Device", (log) => `${log.device_id} (${log.device_model || "?"})`],
    ["Activity", (log) => log.activity],
    ["Seconds", (log) => num(log.duration_s)],
    ["Steps", (log) => num(log.steps)],
    ["Heart rate", (log) => (log.heart_rate ? num(log.heart_rate) : "—")],
    ["kcal", (log) => num(log.calories, 1)],
    ["Distance m", (log) => num(log.distance_m, 1)],
    ["Battery %", (log) => num(log.battery)],
  ];
  return h("div", { class: "table-wrap" }, table(`${logs.length} entries on page ${index + 1}`, columns, logs));
}

// "N MB so far" at most once a second: the status is a live region a screen reader reads.
function progressIn(status) {
  let shownAt = 0;
  return (bytes) => {
    if (Date.now() - shownAt < 1000) return;
    shownAt = Date.now();
    status.textContent = `Downloading the export: ${num(bytes / MB, 1)} MB so far…`;
  };
}

function exportTools(query, signal) {
  const format = field("Export format", { name: "format", id: "wl-format" }, [["csv", "CSV"], ["ndjson", "NDJSON"]]);
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "secondary" }, "Export");
  button.addEventListener("click", async () => {
    const chosen = format.querySelector("select").value;
    const { page_size: _size, ...filter } = query;
    button.disabled = true;
    status.className = "muted";
    status.textContent = "Preparing the export…";
    try {
      const bytes = await download("/watch-logs/export", { ...filter, format: chosen }, `watch-logs.${chosen}`, signal, progressIn(status));
      status.textContent = `Exported ${num(bytes / 1024, 1)} KB.`;
      flash("Export downloaded", "good");
    } catch (error) {
      if (error?.name === "AbortError") return;
      status.className = "error";
      status.textContent = humanMessage(error);
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "wl-export" }, format, button, status);
}
