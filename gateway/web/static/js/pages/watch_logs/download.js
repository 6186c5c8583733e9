// Downloading a file from the API: a plain link cannot carry the Authorization header,
// so the file is fetched with the token and handed to the browser as a Blob.
import { ApiError, refresh, withQuery } from "../../api.js";
import * as session from "../../session.js";
import { h } from "../../ui.js";

// An export streams the whole range: far longer than one API call may take.
const DEADLINE_MS = 5 * 60 * 1000;

/** Fetch ``path`` with the token and save it under the name the server gives (or ``name``). */
export async function download(path, query, name, signal) {
  let response = await get(path, query, signal);
  if (response.status === 401 && session.current()?.refreshToken && (await refresh())) {
    response = await get(path, query, signal);
  }
  if (!response.ok) throw await failure(response);
  let blob;
  try {
    blob = await response.blob();
  } catch (error) {
    if (signal?.aborted) throw error;
    // The gateway breaks an export off when the service fails mid-way: never a short file.
    throw new ApiError(0, "BROKEN_OFF", "The export was interrupted before it finished, so nothing was saved. Please try again, or narrow the time range.");
  }
  save(blob, fileName(response) || name);
  return blob.size;
}

async function get(path, query, signal) {
  const deadline = AbortSignal.timeout(DEADLINE_MS);
  const headers = { Authorization: `Bearer ${session.current()?.token || ""}` };
  try {
    return await fetch(withQuery(path, query), {
      headers, credentials: "same-origin",
      signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, "NETWORK", "Cannot reach the server. Check your connection and try again.");
  }
}

async function failure(response) {
  let error = {};
  try {
    error = (await response.json())?.error || {};
  } catch {
    error = {};
  }
  return new ApiError(response.status, error.status || "UNKNOWN", error.message || response.statusText, response.headers.get("Retry-After"));
}

function fileName(response) {
  const match = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
  return match ? match[1] : null;
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000); // after the browser has taken it
}
