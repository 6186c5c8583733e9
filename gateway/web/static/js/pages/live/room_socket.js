// An active session's room: joins over /ws/sessions/{id}, applies its events in seq order
// exactly once, and after a dropped connection rejoins with the last applied seq (the
// server replays what was missed, then "resumed"), so nothing is lost or shown twice.
import { api } from "../../api.js";
import { h, show, errorBox } from "../../ui.js";
import { liveSocket } from "../../socket.js";
import * as session from "../../session.js";
import { fromSnapshot, applyEvent } from "./state.js";
import { presencePanel, chatPanel, exercisePanel } from "./panels.js";
import { pollsPanel } from "./polls.js";
import { summarySection } from "./summary.js";
import { errorSentence, closeSentence } from "./messages.js";

const NOT_SENT = "You are not connected right now, so that was not sent. Wait until it says “Connected”, then try again.";

export class Room {
  /** Build the room in ``body`` and connect. */
  constructor(body, snapshot, ctx, about) {
    this.body = body;
    this.snapshot = snapshot;
    this.ctx = ctx;
    this.state = fromSnapshot(snapshot);
    this.joined = false; // a snapshot arrived: rejoins ask for what came after state.lastSeq
    this.ended = false;
    this.live = null;
    this.build(about);
    this.connect();
  }

  /** The room's parts: status line, errors, the four panels, the host's end button. */
  build(about) {
    const send = (frame) => this.send(frame);
    const complain = (text) => this.complain(text);
    const owner = this.snapshot.owner_id;
    const isOwner = owner === session.current()?.userId;
    this.status = h("p", { class: "live-status", role: "status", "aria-live": "polite" }, "Connecting…");
    this.problem = h("p", { class: "error", role: "alert", hidden: true });
    this.tail = h("div", {});
    this.invite = inviteLine(this.snapshot.session_id);
    this.presence = presencePanel(owner);
    this.chat = chatPanel(send, complain);
    this.exercise = exercisePanel(send, complain);
    this.polls = pollsPanel(send, complain, { canStart: isOwner, ownerId: owner });
    this.endButton = isOwner ? h("button", { type: "button", class: "danger", onclick: () => this.endSession() }, "End session") : null;
    show(this.body, about, this.invite, h("div", { class: "live-bar" }, this.status, this.endButton), this.problem, this.tail,
      h("div", { class: "live-room" }, this.presence.root, this.chat.root, this.polls.root, this.exercise.root));
  }

  /** Send a frame; false (and a sentence) when not connected. */
  send(frame) {
    this.problem.hidden = true;
    if (!this.ended && this.live?.send(frame)) return true;
    this.complain(this.ended ? "This session has ended." : NOT_SENT);
    return false;
  }

  complain(text) {
    this.problem.textContent = text;
    this.problem.hidden = false;
  }

  connect() {
    this.problem.hidden = true;
    const id = this.snapshot.session_id;
    this.live = liveSocket(`/ws/sessions/${encodeURIComponent(id)}`, {
      onOpen: (socket) => socket.send(JSON.stringify(this.joinFrame())),
      onMessage: (frame) => this.receive(frame),
      onState: (text) => this.connectionChanged(text),
      onClose: (event) => this.closedForGood(event),
    });
  }

  joinFrame() {
    const join = { type: "join_session", session_id: this.snapshot.session_id };
    if (this.joined) join.last_seq = this.state.lastSeq;
    return join;
  }

  receive(frame) {
    if (this.ended || !frame) return;
    const handler = CONTROL[frame.type];
    if (handler) handler(this, frame);
    else this.show(applyEvent(this.state, frame));
  }

  /** Show what one applied event changed (null: a duplicate, already shown). */
  show(change) {
    if (!change) return;
    if (change.kind === "presence") this.presence.update(this.state.present);
    else if (change.kind === "chat") this.chat.message(change.event);
    else if (change.kind === "exercise") this.exercise.update(change.event);
    else if (change.kind === "poll") this.polls.render(change.poll);
    else if (change.kind === "ended") this.finish(null);
  }

  snapshotArrived(frame) {
    if (this.joined) this.chat.note("The connection was away too long to recover every message; some may be missing above.");
    this.joined = true;
    this.state = fromSnapshot(frame);
    this.status.textContent = "Connected";
    this.presence.update(this.state.present);
    this.polls.reset(this.state.polls);
    if (this.state.ended) this.finish(frame);
  }

  connectionChanged(text) {
    if (this.ended) return;
    if (text === "connected") {
      this.status.textContent = "Joining…";
      return;
    }
    this.status.textContent = "Reconnecting…";
    this.checkStillThere();
  }

  /** A rejoin that keeps failing may mean the session ended (its handshake is then refused). */
  async checkStillThere() {
    if (this.checking || this.ended) return;
    this.checking = true;
    try {
      const now = await api(`/group-sessions/${encodeURIComponent(this.snapshot.session_id)}`, { signal: this.ctx.signal });
      if (now.state === "ended") this.finish(now);
    } catch (error) {
      if (error?.status === 404) this.gone("This session no longer exists.");
    } finally {
      this.checking = false;
    }
  }

  closedForGood(event) {
    if (this.ended) return;
    this.status.textContent = "Disconnected";
    this.complain(closeSentence(event));
    show(this.tail, h("button", { type: "button", onclick: () => { show(this.tail); this.connect(); } }, "Join again"));
  }

  gone(text) {
    this.stop();
    this.status.textContent = "Disconnected";
    this.complain(text);
  }

  async endSession() {
    this.endButton.disabled = true;
    const path = `/group-sessions/${encodeURIComponent(this.snapshot.session_id)}/end`;
    try {
      this.finish(await api(path, { method: "POST", signal: this.ctx.signal }));
    } catch (error) {
      if (error?.name === "AbortError") return;
      if (error?.status === 409) return this.finish(null);
      this.endButton.disabled = false;
      show(this.tail, errorBox(error));
    }
  }

  /** The session ended: stop the socket, drop the controls, show the summary. */
  finish(final) {
    if (this.ended) return;
    this.stop();
    this.status.textContent = "This session has ended.";
    this.endButton?.remove();
    this.presence.root.remove(); // the summary lists who took part
    this.invite.remove();
    for (const form of this.body.querySelectorAll("form")) form.remove();
    for (const button of this.body.querySelectorAll(".live-poll button")) button.remove();
    show(this.tail, summarySection(final || this.state.session, this.ctx.signal));
  }

  /** Close the socket for good (leaving the page, or the end). */
  stop() {
    this.ended = true;
    this.live?.close();
  }
}

// Frames about the connection rather than session events (those carry a seq).
const CONTROL = {
  session_snapshot: (room, frame) => room.snapshotArrived(frame),
  resumed: (room) => { room.status.textContent = "Connected"; },
  resync_required: (room) => { room.status.textContent = "Catching up…"; },
  error: (room, frame) => room.complain(errorSentence(frame)),
};

function inviteLine(id) {
  const link = `${location.origin}/app/sessions/${encodeURIComponent(id)}`;
  return h("p", { class: "muted live-link" }, "Invite others with this link: ", h("a", { href: link }, link));
}
