// Sentences for what the session socket refuses or why it closed.

const REASONS = {
  RATE_LIMITED: "You are sending messages too fast. Wait a moment, then try again.",
  POLL_CLOSED: "That poll has closed, so your vote was not counted.",
  BAD_OPTION: "That is not one of the poll's options.",
  NO_SUCH_POLL: "That poll does not exist (any more).",
  NOT_CREATOR_OR_OWNER: "Only the person who started a poll, or the host, can close it.",
  UNAVAILABLE: "Live sessions are briefly unavailable. Reconnecting by itself…",
  INTERNAL: "Something went wrong on our side. Reconnecting by itself…",
};

/** A sentence for an error frame of the session socket. */
export function errorSentence(frame) {
  if (REASONS[frame.reason]) return REASONS[frame.reason];
  if (frame.reason === "INVALID_FRAME") return `That was not accepted: ${readable(frame.message)}.`;
  return "Something went wrong with the connection. Please reload the page.";
}

/** A sentence for a close after which the socket will not reconnect by itself. */
export function closeSentence(event) {
  const reason = String(event?.reason || "");
  if (/rate/.test(reason)) return "You were disconnected for sending too many messages too fast.";
  if (/slow/.test(reason)) return "You were disconnected because the connection could not keep up.";
  if (/signed out|token/.test(reason)) return "Your sign-in has ended. Please sign in again to rejoin.";
  if (/too many/i.test(reason)) return "You have too many live connections open. Close another tab, then join again.";
  return "The connection to the session was closed.";
}

function readable(message) {
  const text = String(message || "").replace(/_/g, " ").replace(/\.$/, "");
  return text.charAt(0).toLowerCase() + text.slice(1);
}
