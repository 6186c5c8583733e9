// Sleep per night: a bar of its stages per night, and the same minutes as a table.
import { api } from "../../api.js";
import { h, num, table, when } from "../../ui.js";

const STAGES = [["deep", "Deep"], ["light", "Light"], ["rem", "REM"], ["wake", "Awake"]];
const MIN_SPAN = 7 * 86400e3; // a day's chart still shows the week's nights around it

/** The sleep sessions ending in [from, to) widened to at least the 7 days up to ``to``. */
export async function readSleep(userId, { from, to }, signal) {
  const start = new Date(Math.min(from.getTime(), to.getTime() - MIN_SPAN));
  const answer = await api(`/users/${encodeURIComponent(userId)}/sleep`, {
    signal,
    query: { from: start.toISOString(), to: to.toISOString() },
  });
  return { from: start, to, sessions: answer.sessions };
}

/** The nights as stage bars and a table; a sentence when there are none. */
export function sleepView({ from, to, sessions }) {
  const range = `${from.toLocaleDateString()} to ${to.toLocaleDateString()}`;
  if (!sessions.length) return h("p", { class: "empty" }, `No sleep recorded for nights ending ${range}.`);
  return [
    h("p", { class: "muted" }, `Nights ending ${range}.`),
    legend(),
    h("ul", { class: "sleep-nights" }, sessions.map(night)),
    h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Sleep stages per night" }, table("Sleep stages per night (minutes)", [
      ["Night", (s) => s.night],
      ["Asleep", (s) => hours(s.asleep_minutes)],
      ...STAGES.map(([stage, label]) => [label, (s) => num(s.minutes[stage])]),
      ["In bed", (s) => `${when(s.start)} – ${when(s.end)}`],
    ], sessions)),
  ];
}

function legend() {
  return h("p", { class: "sleep-legend", "aria-hidden": "true" }, STAGES.map(([stage, label]) =>
    h("span", {}, h("span", { class: `swatch stage-${stage}` }), label)));
}

// One night's stages side by side, widths by minutes (set through CSSOM: CSP-safe).
function night(session) {
  const total = STAGES.reduce((sum, [stage]) => sum + session.minutes[stage], 0) || 1;
  const spoken = STAGES.map(([stage, label]) => `${label} ${num(session.minutes[stage])} min`).join(", ");
  const bar = h("span", { class: "sleep-bar", role: "img", "aria-label": `Night of ${session.night}: ${spoken}` },
    STAGES.filter(([stage]) => session.minutes[stage] > 0).map(([stage]) => {
      const part = h("span", { class: `stage-${stage}` });
      part.style.width = `${(session.minutes[stage] / total) * 100}%`;
      return part;
    }));
  return h("li", {}, h("span", { class: "sleep-night" }, session.night), bar,
    h("span", { class: "sleep-total" }, hours(session.asleep_minutes)));
}

function hours(minutes) {
  const whole = Math.round(minutes);
  return `${Math.floor(whole / 60)} h ${String(whole % 60).padStart(2, "0")} min`;
}
