// The signed-in user's /ws/notifications socket, one per tab, open on every page: each
// frame becomes a window "notification" event that pages listen to; goal alerts also
// flash wherever the user is.
import * as session from "./session.js";
import { liveSocket } from "./socket.js";
import { flash } from "./ui.js";

let socket = null;
const seen = new Set(); // alerts are at-least-once: the same notification_id may repeat

/** Open the socket if signed in and not open yet; close it once signed out. */
export function keepNotificationsOpen() {
  if (!session.current()) {
    socket?.close();
    socket = null;
    return;
  }
  socket ??= liveSocket("/ws/notifications", {
    onMessage: deliver,
    onClose: () => {
      socket = null;
    },
  });
}

function deliver(frame) {
  if (frame.notification_id) {
    if (seen.has(frame.notification_id)) return;
    seen.add(frame.notification_id);
  }
  if (frame.type === "goal_achieved") flash(`Goal achieved: ${frame.message}`, "good");
  window.dispatchEvent(new CustomEvent("notification", { detail: frame }));
}
