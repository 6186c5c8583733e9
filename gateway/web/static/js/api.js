// Calls to the gateway's REST API: the token, one refresh on expiry, and errors a person
// can read. Every call has a deadline.
import * as session from "./session.js";

const DEADLINE_MS = 15000;
let refreshing = null; // one refresh at a time, shared by every call that found it expired

/** An API failure: ``status`` 0 means the server could not be reached. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Call the API; resolves to the parsed JSON body (null for 204), rejects with ApiError. */
export async function api(path, options = {}) {
  return parse(await respond(path, options));
}

/** The raw Response of a successful call, for a download that reads its body itself. */
export async function apiResponse(path, options = {}) {
  const response = await respond(path, options);
  if (!response.ok) await parse(response); // throws the ApiError
  return response;
}

async function respond(path, { method = "GET", body, query, signal, auth = true, deadlineMs = DEADLINE_MS } = {}) {
  const call = () => send(path, { method, body, query, signal, auth, deadlineMs });
  const response = await call();
  if (response.status !== 401 || !auth || !session.current()?.refreshToken) return response;
  const outcome = await refresh();
  if (outcome === "ok") return call();
  if (outcome === "unreachable") throw unreachable(); // keep the session: the next call may work
  endSession();
  return response;
}

// Once per session, however many calls found it ended at the same time.
let endedToken = null;
function endSession() {
  const token = session.current()?.token;
  session.clear();
  if (token && token === endedToken) return;
  endedToken = token;
  window.dispatchEvent(new CustomEvent("session-ended"));
}

function unreachable() {
  return new ApiError(0, "NETWORK", "Cannot reach the server. Check your connection and try again.");
}

/** The path with its query string (parameters that are null or "" are left out). */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.append(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(path, { method, body, query, signal, auth, deadlineMs }) {
  const headers = { Accept: "application/json" };
  const token = session.current()?.token;
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // A retried POST (a flaky network) must not create twice: the gateway keeps the answer.
  if (method === "POST") headers["Idempotency-Key"] = crypto.randomUUID();
  const deadline = AbortSignal.timeout(deadlineMs);
  try {
    return await fetch(withQuery(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
      credentials: "same-origin",
    });
  } catch (error) {
    if (signal?.aborted) throw error; // the page went away: nobody is waiting
    if (error.name !== "TimeoutError") throw unreachable();
    throw new ApiError(0, "DEADLINE_EXCEEDED", "The server took too long to answer. Please try again.");
  }
}

async function parse(response) {
  if (response.status === 204) return null;
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (response.ok) return payload;
  const error = payload?.error || {};
  throw new ApiError(
    response.status,
    error.status || "UNKNOWN",
    error.message || response.statusText || "unknown error",
    response.headers.get("Retry-After"),
  );
}

/**
 * Exchange the refresh token for a new pair: "ok", "refused" (the server will not: sign
 * in again) or "unreachable" (a network failure, 429 or 5xx: the session is kept).
 */
export function refresh() {
  refreshing ??= (async () => {
    try {
      const body = { refresh_token: session.current()?.refreshToken };
      const response = await send("/users/token/refresh", { method: "POST", body, auth: false, deadlineMs: DEADLINE_MS });
      if (response.ok) {
        session.store(await response.json());
        return "ok";
      }
      return [400, 401, 422].includes(response.status) ? "refused" : "unreachable";
    } catch {
      return "unreachable";
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

const STATUS_TEXT = {
  0: null, // the ApiError's own message says what happened
  401: "Your session has ended. Please sign in again.",
  403: "You are not allowed to see or change this.",
  404: "This no longer exists. It may have been deleted.",
  413: "That is too much to send at once.",
  429: "Too many requests. Please wait a moment and try again.",
  502: "Something went wrong on our side. Please try again.",
  503: "The service is temporarily unavailable. Please try again shortly.",
  504: "The server took too long to answer. Please try again.",
};

/** A sentence for a person: what went wrong and, where it helps, what to do. */
export function humanMessage(error) {
  if (!(error instanceof ApiError)) return "Something went wrong. Please reload the page.";
  const wait = error.retryAfter ? ` (try again in ${error.retryAfter} s)` : "";
  if (error.status === 401 && error.code === "UNAUTHENTICATED" && /password|email/i.test(error.message)) {
    return "Wrong email or password.";
  }
  if ([400, 409, 422].includes(error.status)) return `${readable(error.message)}${wait}`;
  if (error.status >= 500 && !(error.status in STATUS_TEXT)) return STATUS_TEXT[502] + wait;
  return (STATUS_TEXT[error.status] ?? readable(error.message)) + wait;
}

// The API's messages name fields the way the JSON does ("body.target_value: ..."):
// keep the reason, drop the request-part prefix, and start with a capital.
function readable(message) {
  const text = String(message)
    .replace(/String should match pattern '.*'/, "is not in the expected form")
    .replace(/\b(body|query|path)\./g, "")
    .replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
