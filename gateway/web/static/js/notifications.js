// The signed-in user's /ws/notifications socket, one per tab, open on every page: each
// frame becomes a window "notification" event that pages listen to; goal alerts also
// flash wherever the user is.
import * as session from "./session.js";
import { liveSocket } from "./socket.js";
import { flash } from "./ui.js";

let socket = null;
let reopen = null;
// Alerts are at-least-once: the same notification_id may repeat. The newest ids only.
const seen = new Set();
const SEEN_KEPT = 1000;
const REOPEN_MS = 5000;

/** Open the socket if signed in and not open yet; close it once signed out. */
export function keepNotificationsOpen() {
  if (!session.current()) {
    socket?.close();
    socket = null;
    return;
  }
  socket ??= liveSocket("/ws/notifications", { onMessage: deliver, onClose: closed });
}

// A final close ("too slow", too many sockets, no handshake for a while): open again
// shortly, unless signed out, so the open page keeps its live updates.
function closed(event) {
  socket = null;
  if (event.reason === "signed out") return;
  clearTimeout(reopen);
  reopen = setTimeout(keepNotificationsOpen, REOPEN_MS);
}

function deliver(frame) {
  if (frame.notification_id) {
    if (seen.has(frame.notification_id)) return;
    seen.add(frame.notification_id);
    if (seen.size > SEEN_KEPT) seen.delete(seen.values().next().value);
  }
  if (frame.type === "goal_achieved") flash(`Goal achieved: ${frame.message}`, "good");
  window.dispatchEvent(new CustomEvent("notification", { detail: frame }));
}
