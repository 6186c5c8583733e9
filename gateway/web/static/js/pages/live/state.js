// A session as one participant knows it, built from the snapshot and the events after it.
// Events are applied once each, in seq order: one whose seq is not above the last applied
// is a duplicate (a replay after a reconnect overlapping what arrived live) and is ignored.

/** A fresh state from a snapshot (REST or the socket's session_snapshot). */
export function fromSnapshot(snapshot) {
  return {
    session: snapshot,
    lastSeq: Number(snapshot.last_seq) || 0,
    present: new Set(snapshot.participants || []),
    polls: new Map((snapshot.polls || []).map((poll) => [poll.poll_id, { ...poll }])),
    ended: snapshot.state === "ended",
  };
}

/**
 * Apply one server event to ``state``; returns what it changed for the view
 * ({kind, event, poll?}) or null when it is a duplicate or carries no seq.
 */
export function applyEvent(state, event) {
  const seq = Number(event.seq);
  if (!Number.isInteger(seq) || seq <= state.lastSeq) return null;
  state.lastSeq = seq;
  const apply = APPLY[event.type];
  return apply ? apply(state, event) : { kind: "other", event };
}

const users = (event) => (Array.isArray(event.user_ids) ? event.user_ids : [event.user_id]);

const APPLY = {
  join_session(state, event) {
    users(event).forEach((user) => state.present.add(user));
    return { kind: "presence", event };
  },
  leave_session(state, event) {
    users(event).forEach((user) => state.present.delete(user));
    return { kind: "presence", event };
  },
  chat_message: (state, event) => ({ kind: "chat", event }),
  exercise_update: (state, event) => ({ kind: "exercise", event }),
  start_poll(state, event) {
    const poll = {
      poll_id: event.poll_id, question: event.question, options: event.options,
      creator: event.creator ?? event.user_id, closes_at: event.closes_at, state: "open",
      tally: event.options.map(() => 0),
    };
    state.polls.set(poll.poll_id, poll);
    return { kind: "poll", event, poll };
  },
  vote: (state, event) => tallied(state, event, "open"),
  close_poll: (state, event) => tallied(state, event, "closed"),
  session_ended(state, event) {
    state.ended = true;
    return { kind: "ended", event };
  },
};

function tallied(state, event, pollState) {
  const poll = state.polls.get(event.poll_id);
  if (!poll) return null; // a poll from before our snapshot that had already closed
  if (Array.isArray(event.tally)) poll.tally = event.tally;
  if (pollState === "closed") poll.state = "closed";
  return { kind: "poll", event, poll };
}
