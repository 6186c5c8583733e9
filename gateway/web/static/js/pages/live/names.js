// How people and times of a session are shown. The API names users only by id (no one
// may read another's profile), so others appear as "Member <first 8 characters>".
import * as session from "../../session.js";

/** "You", or "Member 2aefd849" for someone else. */
export function personName(userId) {
  if (!userId) return "The session";
  if (userId === session.current()?.userId) return "You";
  return `Member ${String(userId).slice(0, 8)}`;
}

/** A clock time ("10:42:05") for an event's RFC 3339 ``ts``. */
export function clock(ts) {
  const date = new Date(ts);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString();
}

/** The id inside a pasted link (".../app/sessions/<id>") or the id itself; "" if neither. */
export function sessionIdFrom(text) {
  const value = String(text || "").trim();
  const linked = value.match(/sessions\/([^/?#\s]+)/);
  const id = linked ? decodeURIComponent(linked[1]) : value;
  return /^[A-Za-z0-9._:-]{1,128}$/.test(id) ? id : "";
}
