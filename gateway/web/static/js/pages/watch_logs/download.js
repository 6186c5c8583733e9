// Downloading a file from the API: a plain link cannot carry the Authorization header,
// so the file is fetched with the token (api.js's apiResponse: refresh, session end, errors)
// and handed to the browser as a Blob, read chunk by chunk to show how far it has got.
import { ApiError, apiResponse } from "../../api.js";
import { h } from "../../ui.js";

// An export streams the whole range: far longer than one API call may take.
const DEADLINE_MS = 5 * 60 * 1000;

/**
 * Fetch ``path`` with the token and save it under the name the server gives (or ``name``);
 * ``onProgress(bytes)`` runs as the body arrives. Resolves to the file's size in bytes.
 */
export async function download(path, query, name, signal, onProgress = () => {}) {
  const response = await apiResponse(path, { query, signal, deadlineMs: DEADLINE_MS });
  const blob = await body(response, signal, onProgress);
  save(blob, fileName(response) || name);
  return blob.size;
}

async function body(response, signal, onProgress) {
  const type = response.headers.get("Content-Type") || "";
  if (!response.body) return new Blob([], { type });
  const reader = response.body.getReader();
  const parts = [];
  let bytes = 0;
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      parts.push(chunk.value);
      bytes += chunk.value.byteLength;
      onProgress(bytes);
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    // The gateway breaks an export off when the service fails mid-way: never a short file.
    throw new ApiError(0, "BROKEN_OFF", "The export was interrupted before it finished, so nothing was saved. Please try again, or narrow the time range.");
  }
  return new Blob(parts, { type });
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
