// ETL runs and reconciliation (GET /admin/etl-runs): the nightly load's manifest as the
// warehouse keeps it, failed reconciliations highlighted with the ETL's own words.
import { api, ApiError, humanMessage } from "../../api.js";
import { h, table, when, num, duration } from "../../ui.js";
import { badge, wrapped } from "../../panel.js";

const STATUS_KIND = { succeeded: "good", failed: "bad", crashed: "bad", running: "warn" };

/** The nodes of the ETL panel. */
export async function etlRuns(signal) {
  const answer = await api("/admin/etl-runs", { query: { page_size: 20 }, signal });
  const runs = answer.runs;
  const failedChecks = runs.filter((run) => run.reconciliation === "failed").length;
  return [
    h("p", { class: "ops-summary" },
      h("span", {}, `Rows in quarantine now: ${num(answer.quarantined)}${answer.quarantined_capped ? "+" : ""}`), " · ",
      h("span", { class: failedChecks ? "error" : "" }, `Failed reconciliations in these runs: ${failedChecks}`)),
    runs.length ? runTable(runs) : h("p", { class: "empty" }, "No ETL run yet: the nightly load has not run on this warehouse."),
  ];
}

/** What an operator reads when the warehouse cannot be read: the gateway's own reason. */
export function explainEtl(error) {
  // humanMessage turns every 503 into one generic sentence; the gateway's own says which
  // part is missing (not configured, not migrated, down, slow, a grant).
  if (error instanceof ApiError && error.status === 503) return gatewaySentence(error);
  if (error instanceof ApiError && error.status === 404) return "This gateway does not serve ETL runs yet: it runs an older version.";
  return humanMessage(error);
}

function gatewaySentence(error) {
  const text = String(error.message);
  const wait = error.retryAfter ? ` (try again in ${error.retryAfter} s)` : "";
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${wait}.`;
}

function runTable(runs) {
  const columns = [
    ["Started", (run) => when(run.started_at)],
    ["Trigger", (run) => run.trigger],
    ["Status", (run) => badge(run.status, STATUS_KIND[run.status] || "")],
    ["Interval", (run) => `${when(run.interval_start)} – ${when(run.interval_end)}`],
    ["Rows read", (run) => counts(run.rows_read)],
    ["Rows written", (run) => counts(run.rows_written)],
    ["Quarantined", (run) => counts(run.rows_quarantined)],
    ["Duration", (run) => (run.duration_seconds === null ? "—" : duration(run.duration_seconds))],
    ["Reconciliation", (run) => reconciliation(run)],
    ["Error", (run) => (run.error ? h("span", { class: "ops-error-text" }, run.error) : "—")],
  ];
  return wrapped(table(`${runs.length} ETL runs, newest first`, columns, runs), runs,
    (run) => run.reconciliation === "failed" || run.status === "failed" || run.status === "crashed");
}

function reconciliation(run) {
  if (run.reconciliation === "failed") return badge("failed", "bad");
  if (run.reconciliation === "passed") return badge("passed", "good");
  return "—";
}

// {users: 2, goals: 1, workouts: 5}: the total, and the parts under it.
function counts(perSource) {
  const entries = Object.entries(perSource || {});
  const total = entries.reduce((sum, [, value]) => sum + value, 0);
  if (!entries.length) return "0";
  return h("span", {}, num(total), h("br", {}),
    h("small", { class: "muted" }, entries.map(([name, value]) => `${name} ${num(value)}`).join(", ")));
}
