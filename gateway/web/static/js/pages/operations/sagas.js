// Sagas (GET /admin/sagas, filtered by status) and, for the one picked, its step history
// (GET /admin/sagas/{id}).
import { api } from "../../api.js";
import { h, show, table, when, num, field, errorBox, progress } from "../../ui.js";
import { badge, wrapped } from "../../panel.js";

const STATUSES = ["running", "compensating", "completed", "compensated", "needs_attention", "not_accepted"];
const KIND = { completed: "good", needs_attention: "bad", compensated: "warn", compensating: "warn", not_accepted: "bad" };

/** The sagas part: a status filter, the list, and the picked saga's steps. */
export function sagaBrowser(signal) {
  const filter = field("Status", { name: "saga-status", id: "saga-status" },
    [["", "Any status"], ...STATUSES.map((status) => [status, status.replace("_", " ")])]);
  const detail = h("div", { class: "ops-saga", "aria-live": "polite" });
  let picked = null;

  async function list() {
    const status = filter.querySelector("select").value;
    const answer = await api("/admin/sagas", { query: { status, page_size: 50 }, signal });
    if (picked) await openSaga(picked, { quiet: true });
    return [listOf(answer.sagas, openSaga), detail];
  }

  async function openSaga(sagaId, { quiet = false } = {}) {
    picked = sagaId;
    if (!quiet) show(detail, progress("Loading the saga's steps…"));
    try {
      show(detail, sagaDetail(await api(`/admin/sagas/${encodeURIComponent(sagaId)}`, { signal })));
    } catch (error) {
      if (error?.name !== "AbortError") show(detail, errorBox(error));
    }
  }

  return { filter, list };
}

function listOf(sagas, open) {
  if (!sagas.length) return h("p", { class: "empty" }, "No saga with this status.");
  const columns = [
    ["Saga", (saga) => h("button", { type: "button", class: "secondary", onclick: () => open(saga.saga_id) }, short(saga.saga_id))],
    ["Type", (saga) => saga.saga_type],
    ["Status", (saga) => badge(saga.status.replace("_", " "), KIND[saga.status] || "")],
    ["Step", (saga) => saga.current_step || "—"],
    ["Attempt", (saga) => num(saga.attempt)],
    ["Last error", (saga) => saga.last_error || "—"],
    ["User", (saga) => h("code", {}, short(saga.user_id))],
    ["Updated", (saga) => when(saga.updated_at)],
  ];
  return wrapped(table(`${sagas.length} sagas, most recently updated first`, columns, sagas), sagas,
    (saga) => saga.status === "needs_attention");
}

// Ids are uuids (or "idem-" and a key): their first characters tell them apart in a list.
function short(id) {
  return id.length > 13 ? `${id.slice(0, 12)}…` : id;
}

function sagaDetail(saga) {
  const columns = [
    ["Time", (event) => when(event.time)],
    ["Step", (event) => event.step],
    ["Phase", (event) => event.phase],
    ["Outcome", (event) => event.outcome],
    ["Attempt", (event) => num(event.attempt)],
    ["Error", (event) => event.error || "—"],
  ];
  const events = saga.events || [];
  return h("div", { class: "card" },
    h("h3", {}, `Saga ${saga.saga_id}`),
    h("dl", { class: "facts" },
      h("dt", {}, "Type"), h("dd", {}, saga.saga_type),
      h("dt", {}, "Status"), h("dd", {}, saga.status.replace("_", " ")),
      h("dt", {}, "User"), h("dd", {}, h("code", {}, saga.user_id)),
      h("dt", {}, "Goal"), h("dd", {}, h("code", {}, saga.goal_id || "—")),
      h("dt", {}, "Failure"), h("dd", {}, saga.failure_code || saga.last_error || "none")),
    events.length
      ? wrapped(table(`${events.length} steps and events`, columns, events), events, (event) => Boolean(event.error))
      : h("p", { class: "empty" }, "No step has run yet."));
}
