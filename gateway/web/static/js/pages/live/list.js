// The "Live sessions" page: active sessions, open one, join one by its link or id.
import { api, ApiError } from "../../api.js";
import { h, show, section, field, onSubmit, loading, table, when, label } from "../../ui.js";
import { personName, sessionIdFrom } from "./names.js";

/** Render the list page. */
export async function listPage(view, ctx) {
  const listed = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const create = h("div", {});
  show(view, h("h1", {}, "Live sessions"),
    section("Active sessions", listed),
    section("Start a session", create),
    section("Join by link or id", joinForm(ctx)));
  const types = api("/workout-types", { signal: ctx.signal });
  await Promise.allSettled([
    loading(listed, api("/group-sessions", { signal: ctx.signal }), "Loading sessions…")
      .then((answer) => show(listed, sessionsTable(answer.sessions))),
    loading(create, types, "Loading workout types…")
      .then((found) => show(create, createForm(found, ctx))),
  ]);
}

function sessionsTable(sessions) {
  if (!sessions.length) return h("p", { class: "empty" }, "No live sessions right now. Start one below.");
  const columns = [
    ["Session", (s) => h("a", { href: `/app/sessions/${encodeURIComponent(s.session_id)}` }, s.title)],
    ["Workout", (s) => label(s.workout_type)],
    ["Host", (s) => personName(s.owner_id)],
    ["Starts", (s) => (s.scheduled_at ? when(s.scheduled_at) : "Now")],
    ["In it now", (s) => String(s.participants.length)],
  ];
  return h("div", { class: "table-wrap" }, table(`${sessions.length} active`, columns, sessions));
}

function createForm(types, ctx) {
  const options = types.map((t) => [t.name, label(t.name)]);
  const form = h("form", { class: "stack", "aria-label": "Start a session" },
    field("Title", { name: "title", required: true, maxlength: 100, autocomplete: "off" }),
    field("Workout type", { name: "workout_type", required: true }, options),
    field("Starts at (optional)", { name: "scheduled_at", type: "datetime-local" }),
    h("button", { type: "submit" }, "Start session"));
  return onSubmit(form, async (values) => {
    const body = { title: values.title.trim(), workout_type: values.workout_type };
    // datetime-local is the reader's local time without an offset; the API wants RFC 3339.
    if (values.scheduled_at) body.scheduled_at = new Date(values.scheduled_at).toISOString();
    const made = await api("/group-sessions", { method: "POST", body, signal: ctx.signal });
    ctx.navigate(`sessions/${encodeURIComponent(made.session_id)}`);
  });
}

function joinForm(ctx) {
  const form = h("form", { "aria-label": "Join a session" },
    field("Session link or id", { name: "join", required: true, autocomplete: "off" }),
    h("button", { type: "submit", class: "secondary" }, "Join"));
  return onSubmit(form, async (values) => {
    const id = sessionIdFrom(values.join);
    if (!id) throw new ApiError(400, "INVALID_ARGUMENT", "That is not a session link or id. Paste the link you were sent.");
    ctx.navigate(`sessions/${encodeURIComponent(id)}`);
  });
}
