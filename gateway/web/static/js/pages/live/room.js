// One live session: joins over /ws/sessions/{id}, applies its events in seq order exactly
// once, and after a dropped connection rejoins with the last applied seq so nothing is lost.
import { api } from "../../api.js";
import { h, show, loading, errorBox } from "../../ui.js";
import { liveSocket } from "../../socket.js";
import * as session from "../../session.js";
import { fromSnapshot, applyEvent } from "./state.js";
import { presencePanel, chatPanel, exercisePanel } from "./panels.js";
import { pollsPanel } from "./polls.js";
import { summarySection } from "./summary.js";
import { personName } from "./names.js";
import { errorSentence, closeSentence } from "./messages.js";

/** Render the session page: load its snapshot, then the room (or the summary if it ended). */
export async function roomPage(view, ctx) {
  const id = ctx.params.id;
  const heading = h("h1", {}, "Live session");
  const body = h("div", {});
  show(view, heading, body);
  let snapshot;
  try {
    snapshot = await loading(body, api(`/group-sessions/${encodeURIComponent(id)}`, { signal: ctx.signal }), "Loading the session…");
  } catch (error) {
    if (error?.status === 404) show(body, missing());
    if (error?.name === "AbortError" || error?.status) return;
    throw error;
  }
  heading.textContent = snapshot.title;
  document.title = `${snapshot.title} · Live session · Fitness Goal Tracker`;
  if (snapshot.state === "ended") {
    show(body, about(snapshot), h("p", { class: "live-status", role: "status" }, "This session has ended."), summarySection(snapshot, ctx.signal));
    return undefined;
  }
  return openRoom(body, snapshot, ctx);
}

function missing() {
  return h("p", { class: "error", role: "alert" },
    "There is no live session with this id. Check the link, or pick a session from ",
    h("a", { href: "/app/sessions" }, "Live sessions"), ".");
}

function about(snapshot) {
  const host = personName(snapshot.owner_id);
  return h("p", { class: "muted" }, `${snapshot.workout_type.replace(/_/g, " ")} · hosted by ${host === "You" ? "you" : host}`);
}

function openRoom(body, snapshot, ctx) {
  const me = session.current()?.userId;
  const isOwner = snapshot.owner_id === me;
  const status = h("p", { class: "live-status", role: "status", "aria-live": "polite" }, "Connecting…");
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const complain = (text) => {
    problem.textContent = text;
    problem.hidden = false;
  };
  let live = null;
  let state = fromSnapshot(snapshot);
  let joined = false; // a snapshot arrived: rejoins ask for what came after state.lastSeq
  let ended = false;
  const send = (frame) => {
    problem.hidden = true;
    if (!ended && live?.send(frame)) return true;
    complain(ended ? "This session has ended." : "You are not connected right now, so that was not sent. Wait until it says “Connected”, then try again.");
    return false;
  };
  const presence = presencePanel(snapshot.owner_id);
  const chat = chatPanel(send, complain);
  const exercise = exercisePanel(send, complain);
  const polls = pollsPanel(send, complain, { canStart: isOwner, ownerId: snapshot.owner_id });
  const endButton = isOwner ? h("button", { type: "button", class: "danger", onclick: () => endSession() }, "End session") : null;
  const tail = h("div", {});
  const link = `${location.origin}/app/sessions/${encodeURIComponent(snapshot.session_id)}`;
  const invite = h("p", { class: "muted live-link" }, "Invite others with this link: ", h("a", { href: link }, link));
  show(body, about(snapshot), invite, h("div", { class: "live-bar" }, status, endButton), problem, tail,
    h("div", { class: "live-room" }, presence.root, chat.root, polls.root, exercise.root));

  const showState = () => {
    presence.update(state.present);
    polls.reset(state.polls);
  };
  const finish = (final) => {
    if (ended) return;
    ended = true;
    live?.close();
    window.__liveSocket = null;
    status.textContent = "This session has ended.";
    endButton?.remove();
    presence.root.remove(); // the summary lists who took part
    invite.remove();
    for (const form of body.querySelectorAll("form")) form.remove();
    for (const button of body.querySelectorAll(".live-poll button")) button.remove();
    show(tail, summarySection(final || state.session, ctx.signal));
  };
  const endSession = async () => {
    endButton.disabled = true;
    try {
      finish(await api(`/group-sessions/${encodeURIComponent(snapshot.session_id)}/end`, { method: "POST", signal: ctx.signal }));
    } catch (error) {
      if (error?.name === "AbortError") return;
      if (error?.status === 409) return finish(null);
      endButton.disabled = false;
      show(tail, errorBox(error));
    }
  };

  const handlers = {
    session_snapshot(frame) {
      if (joined) chat.note("The connection was away too long to recover every message; some may be missing above.");
      joined = true;
      state = fromSnapshot(frame);
      status.textContent = "Connected";
      showState();
      if (state.ended) finish(frame);
    },
    resumed() {
      status.textContent = "Connected";
    },
    resync_required() {
      status.textContent = "Catching up…";
    },
    error(frame) {
      complain(errorSentence(frame));
    },
  };
  const onEvent = (frame) => {
    const change = applyEvent(state, frame);
    if (!change) return;
    if (change.kind === "presence") presence.update(state.present);
    else if (change.kind === "chat") chat.message(change.event);
    else if (change.kind === "exercise") exercise.update(change.event);
    else if (change.kind === "poll") polls.render(change.poll);
    else if (change.kind === "ended") finish(null);
  };

  // A reconnect that keeps failing may mean the session ended (its handshake is then refused).
  let checking = false;
  const checkStillThere = async () => {
    if (checking || ended) return;
    checking = true;
    try {
      const now = await api(`/group-sessions/${encodeURIComponent(snapshot.session_id)}`, { signal: ctx.signal });
      if (now.state === "ended") finish(now);
    } catch (error) {
      if (error?.status === 404) {
        ended = true;
        live?.close();
        status.textContent = "Disconnected";
        complain("This session no longer exists.");
      }
    } finally {
      checking = false;
    }
  };

  const connect = () => {
    problem.hidden = true;
    live = liveSocket(`/ws/sessions/${encodeURIComponent(snapshot.session_id)}`, {
      onOpen(socket) {
        const join = { type: "join_session", session_id: snapshot.session_id };
        if (joined) join.last_seq = state.lastSeq;
        socket.send(JSON.stringify(join));
      },
      onMessage(frame) {
        if (ended) return;
        (handlers[frame?.type] || onEvent)(frame);
      },
      onState(text) {
        if (ended) return;
        if (text === "connected") status.textContent = "Joining…";
        else {
          status.textContent = "Reconnecting…";
          checkStillThere();
        }
      },
      onClose(event) {
        if (ended) return;
        status.textContent = "Disconnected";
        complain(closeSentence(event));
        show(tail, h("button", { type: "button", onclick: () => { show(tail); connect(); } }, "Join again"));
      },
    });
    // Test hook (tests/e2e/test_dashboard_live.py): window.__liveSocket.socket.close(4000)
    // drops the connection as a network would, so the test can watch the rejoin recover.
    window.__liveSocket = live;
  };
  connect();

  return () => {
    ended = true;
    live?.close();
    if (window.__liveSocket === live) window.__liveSocket = null;
  };
}
