// An ended session: the summary the activity service recorded (everyone's time, chat, reps, polls).
import { api } from "../../api.js";
import { h, show, section, table, duration, when, num, progress, sleep } from "../../ui.js";
import { personName } from "./names.js";

const WAIT_TRIES = 30;

/** A section that shows the summary of ``snapshot``, waiting for it while it is recorded. */
export function summarySection(snapshot, signal) {
  const body = h("div", {});
  const root = section("Summary", body);
  if (snapshot.summary) show(body, summaryView(snapshot.summary));
  else waitForSummary(snapshot.session_id, body, signal);
  return root;
}

async function waitForSummary(id, body, signal) {
  show(body, progress("Recording everyone's workout…"));
  for (let attempt = 0; attempt < WAIT_TRIES && !signal.aborted; attempt += 1) {
    try {
      await sleep(1000, signal);
      const snapshot = await api(`/group-sessions/${encodeURIComponent(id)}`, { signal });
      if (snapshot.summary) return show(body, summaryView(snapshot.summary));
    } catch (error) {
      if (signal.aborted || error?.name === "AbortError") return; // left the page
    }
  }
  if (!signal.aborted) show(body, h("p", { class: "muted" }, "The summary is not ready yet. Reload the page in a minute to see it."));
}

function summaryView(summary) {
  const lasted = (Date.parse(summary.ended_at) - Date.parse(summary.created_at)) / 1000;
  const columns = [
    ["Who", (p) => personName(p.user_id)],
    ["Time in session", (p) => duration(p.duration)],
    ["Chat messages", (p) => num(p.chat_messages)],
    ["Exercise updates", (p) => num(p.exercise_updates)],
    ["Reps", (p) => num(p.reps)],
  ];
  return [
    h("p", {}, `Ended ${when(summary.ended_at)}`,
      Number.isFinite(lasted) ? ` after ${duration(lasted)}` : "",
      ` · ${num(summary.chat_messages)} chat messages · ${num(summary.participants.length)} taking part.`),
    h("div", { class: "table-wrap" }, table("Everyone's part (each became a workout)", columns, summary.participants)),
    summary.polls.length ? h("h3", {}, "Poll results") : null,
    ...summary.polls.map((poll) => h("div", {}, h("p", {}, h("strong", {}, poll.question)),
      h("ul", {}, poll.options.map((option, i) => h("li", {}, `${option}: ${poll.tally[i] === 1 ? "1 vote" : `${num(poll.tally[i] ?? 0)} votes`}`))))),
  ];
}
