// Beside the list: this week's plan (the suggestions) and the recent goal alerts.
import { api } from "../../api.js";
import { h, show, loading, when, num } from "../../ui.js";
import { amount, day, typeOf } from "./types.js";

/** Load the weekly suggestions into ``box``. */
export async function showSuggestions(box, base, signal) {
  const answer = await loading(box, api(`${base}/suggestions`, { signal }), "Loading this week's plan…");
  if (!answer.suggestions.length) return show(box, h("p", { class: "empty" }, "No active goal to plan for."));
  show(box, h("ul", { class: "plain" }, answer.suggestions.map(suggestion)),
    h("p", {}, h("a", { href: "/app/workouts", class: "button" }, "Start a workout")));
}

function suggestion(plan) {
  const sessions = plan.sessions_per_week;
  const what = sessions
    ? `${sessions} ${sessions === 1 ? "session" : "sessions"} of about ${plan.minutes_per_session} min this week`
    : "nothing more needed this week";
  return h("li", { class: "suggestion" },
    h("strong", {}, `${typeOf(plan.goal_type).label}: ${amount(plan.goal_type, plan.target_value)} by ${day(plan.target_date)}`),
    h("span", {}, ` — ${what} (${amount(plan.goal_type, plan.remaining)} to go, ${num(plan.weeks_left)} ${plan.weeks_left === 1 ? "week" : "weeks"} left).`));
}

/** The recent alerts list: load(signal) reads it, add(frame) puts a live one on top. */
export function alertsList(box, base) {
  const seen = new Set();
  const live = []; // added while the list was loading: kept if its answer predates them
  const list = h("ul", { class: "plain alerts", "aria-live": "polite" });
  const item = (alert) => h("li", {}, h("strong", {}, alert.message), " ", h("span", { class: "muted" }, when(alert.created_at)));
  return {
    box,
    async load(signal) {
      const answer = await loading(box, api(`${base}/notifications`, { query: { page_size: 20 }, signal }), "Loading alerts…");
      const read = new Set(answer.notifications.map((alert) => alert.notification_id));
      read.forEach((id) => seen.add(id));
      const alerts = [...live.filter((alert) => !read.has(alert.notification_id)), ...answer.notifications];
      list.replaceChildren(...alerts.map(item));
      show(box, list, h("p", { class: "empty", hidden: alerts.length > 0 }, "No alerts yet."));
    },
    add(alert) {
      if (seen.has(alert.notification_id)) return;
      seen.add(alert.notification_id);
      live.unshift(alert);
      list.prepend(item(alert));
      box.querySelector(".empty")?.setAttribute("hidden", "");
      if (!list.isConnected) show(box, list);
    },
  };
}
