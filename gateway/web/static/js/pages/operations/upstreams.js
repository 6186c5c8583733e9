// Upstream instances (GET /health, admins only): each service's instances with their
// address, health, breaker state and calls in flight, and whether Redis answers.
import { api } from "../../api.js";
import { h, table, num } from "../../ui.js";
import { badge, wrapped } from "../../panel.js";

/** The nodes of the upstreams panel, from GET /health. */
export async function upstreams(signal) {
  const health = await api("/health", { signal });
  const rows = Object.entries(health.upstreams || {}).flatMap(([service, instances]) =>
    instances.map((instance) => ({ service: shortName(service), ...instance })));
  const columns = [
    ["Service", (row) => row.service],
    ["Address", (row) => h("code", {}, row.address)],
    ["Health", (row) => badge(row.healthy ? "healthy" : "unhealthy", row.healthy ? "good" : "bad")],
    ["Breaker", (row) => badge(row.breaker, breakerKind(row.breaker))],
    ["Failures in a row", (row) => num(row.consecutive_failures)],
    ["Outstanding calls", (row) => num(row.outstanding)],
  ];
  return [
    h("p", { class: "ops-summary" },
      "Gateway: ", badge(health.status, health.status === "ok" ? "good" : "bad"),
      " Redis: ", badge(health.redis, health.redis === "ok" ? "good" : "bad")),
    wrapped(table(`${rows.length} upstream instances`, columns, rows), rows,
      (row) => !row.healthy || row.breaker !== "closed"),
  ];
}

// "fitness.user.v1.UserService" reads as "UserService".
function shortName(service) {
  return service.split(".").pop();
}

function breakerKind(state) {
  if (state === "closed") return "good";
  return state === "open" ? "bad" : "warn";
}
