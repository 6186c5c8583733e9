// One live session's page: its snapshot first (a sentence if unknown, the summary if it
// ended), then the room (room_socket.js) for an active one.
import { api } from "../../api.js";
import { h, show, loading, label } from "../../ui.js";
import { summarySection } from "./summary.js";
import { personName } from "./names.js";
import { Room } from "./room_socket.js";

/** Render the session page: load its snapshot, then the room (or the summary if it ended). */
export async function roomPage(view, ctx) {
  const heading = h("h1", {}, "Live session");
  const body = h("div", {});
  show(view, heading, body);
  const snapshot = await load(body, ctx);
  if (!snapshot) return undefined;
  heading.textContent = snapshot.title;
  document.title = `${snapshot.title} · Live session · Fitness Goal Tracker`;
  if (snapshot.state === "ended") {
    show(body, about(snapshot), h("p", { class: "live-status", role: "status" }, "This session has ended."),
      summarySection(snapshot, ctx.signal));
    return undefined;
  }
  const room = new Room(body, snapshot, ctx, about(snapshot));
  return () => room.stop();
}

/** The snapshot, or null after showing why there is none (a 404 gets its own sentence). */
async function load(body, ctx) {
  const path = `/group-sessions/${encodeURIComponent(ctx.params.id)}`;
  try {
    return await loading(body, api(path, { signal: ctx.signal }), "Loading the session…");
  } catch (error) {
    if (error?.status === 404) show(body, missing());
    if (error?.name === "AbortError" || error?.status) return null;
    throw error;
  }
}

function missing() {
  return h("p", { class: "error", role: "alert" },
    "There is no live session with this id. Check the link, or pick a session from ",
    h("a", { href: "/app/sessions" }, "Live sessions"), ".");
}

function about(snapshot) {
  const host = personName(snapshot.owner_id);
  return h("p", { class: "muted" }, `${label(snapshot.workout_type)} · hosted by ${host === "You" ? "you" : host}`);
}
