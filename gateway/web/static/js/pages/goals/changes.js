// Goal changes run as sagas: an answer is the outcome, or a 202 whose change is polled
// until it is done (docs/api.md "Changes and 202").
import { api, ApiError } from "../../api.js";
import { sleep } from "../../ui.js";

const FIRST_WAIT_MS = 400;
const MAX_WAIT_MS = 3000;
const GIVE_UP_MS = 5 * 60 * 1000;

/**
 * Send a change; resolves to {applied: true, goal} (goal null after a delete or when it was
 * not read back) or {applied: false, error}; a refusal the API answers at once rejects
 * (ApiError). ``onPending(answer)`` is told when the API answered 202.
 */
export async function sendChange(path, { method, body, signal, onPending }) {
  const answer = await api(path, { method, body, signal });
  if (!answer?.change_url) return { applied: true, goal: answer, goalId: answer?.goal_id };
  onPending?.(answer);
  const change = await waitForChange(answer.change_url, signal);
  if (!change.applied) return { applied: false, error: changeError(change) };
  const goal = change.goal_url && method !== "DELETE" ? await readBack(change, signal) : null;
  return { applied: true, goal, goalId: change.goal_id || answer.goal_id };
}

/** Poll a change's status until it is done (backing off; 5xx while polling is waited out). */
export async function waitForChange(url, signal) {
  const started = Date.now();
  let wait = FIRST_WAIT_MS;
  for (;;) {
    await sleep(wait, signal);
    wait = Math.min(MAX_WAIT_MS, wait * 1.5);
    try {
      const change = await api(url, { signal });
      if (change.done) return change;
    } catch (error) {
      if (error?.name === "AbortError" || (error.status && error.status < 500)) throw error;
    }
    if (Date.now() - started > GIVE_UP_MS) {
      return { done: false, applied: false };
    }
  }
}

/** The error of a change that was not applied, as the API's error (humanMessage reads it). */
export function changeError(change) {
  if (!change.done) return new ApiError(0, "PENDING", "It is taking longer than usual: reload the page later to see whether it was saved.");
  if (change.status === "needs_attention") {
    return new ApiError(0, "NEEDS_ATTENTION", "It could neither be saved nor undone; an operator has been alerted.");
  }
  const error = change.error || {};
  return new ApiError(error.code || 0, error.status || "UNKNOWN", error.message || "It was not saved.");
}

async function readBack(change, signal) {
  try {
    return await api(change.goal_url, { signal });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    return null; // applied all the same; the list is read again after
  }
}
