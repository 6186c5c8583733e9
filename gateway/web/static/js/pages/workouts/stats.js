// Statistics: the API's totals, and charts per ISO week (the last 8) and per type worked
// out here from the history pages, since the API gives totals only. Bounded: at most
// MAX_WORKOUTS are read, and the page says so when there are more.
import { api } from "../../api.js";
import { h, show, duration, num, loading, label } from "../../ui.js";
import { barChart } from "../../charts.js";

export const MAX_WORKOUTS = 500;
const WEEKS = 8;
const DAY_MS = 24 * 3600 * 1000;

/** Load the totals and the charts into ``box``. */
export async function showStatistics(box, base, signal) {
  const work = Promise.all([api(`${base}/statistics`, { signal }), recentWorkouts(base, signal)]);
  const [totals, { workouts, capped }] = await loading(box, work, "Working out your statistics…");
  const ended = workouts.filter((workout) => workout.end_time);
  show(box,
    totalsList(totals),
    barChart("Active minutes per week (last 8 weeks)", perWeek(ended, new Date()), (value) => `${num(value, 1)} min`),
    barChart("Workouts per type", perType(ended), (value) => `${num(value)} ${value === 1 ? "workout" : "workouts"}`),
    capped ? h("p", { class: "muted cap" }, `The charts count your latest ${MAX_WORKOUTS} workouts only; older ones are left out.`) : []);
}

async function recentWorkouts(base, signal) {
  const workouts = [];
  let token = "";
  do {
    const answer = await api(`${base}/workouts`, { query: { page_size: 100, page_token: token }, signal });
    workouts.push(...answer.workouts);
    token = answer.next_page_token || "";
  } while (token && workouts.length < MAX_WORKOUTS);
  return { workouts: workouts.slice(0, MAX_WORKOUTS), capped: Boolean(token) || workouts.length > MAX_WORKOUTS };
}

function totalsList(totals) {
  const item = (term, value) => h("div", {}, h("dt", {}, term), h("dd", {}, value));
  return h("dl", { class: "totals" },
    item("Workouts", num(totals.total_workouts)),
    item("Total time", duration(totals.total_duration)),
    item("Calories burned", `${num(totals.total_calories_burned)} kcal`),
    item("Average workout", duration(totals.average_session_duration)));
}

/** The Monday (local midnight) of the ISO week holding ``date``. */
export function mondayOf(date) {
  const monday = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  monday.setDate(monday.getDate() - ((monday.getDay() + 6) % 7));
  return monday;
}

/** The ISO 8601 week number of ``date`` (week 1 holds the year's first Thursday). */
export function isoWeek(date) {
  const thursday = mondayOf(date);
  thursday.setDate(thursday.getDate() + 3);
  const firstThursday = mondayOf(new Date(thursday.getFullYear(), 0, 4));
  firstThursday.setDate(firstThursday.getDate() + 3);
  return 1 + Math.round((thursday - firstThursday) / (7 * DAY_MS));
}

/** Active minutes per ISO week, the last WEEKS weeks up to ``now``'s, oldest first. */
export function perWeek(workouts, now) {
  const weeks = [];
  const thisWeek = mondayOf(now);
  for (let back = WEEKS - 1; back >= 0; back -= 1) {
    const monday = new Date(thisWeek);
    monday.setDate(monday.getDate() - 7 * back);
    weeks.push({ key: monday.getTime(), label: weekLabel(monday), value: 0 });
  }
  const byKey = new Map(weeks.map((week) => [week.key, week]));
  for (const workout of workouts) {
    const week = byKey.get(mondayOf(new Date(workout.start_time)).getTime());
    if (week) week.value += workout.duration / 60;
  }
  return weeks;
}

function weekLabel(monday) {
  return `W${isoWeek(monday)} · ${monday.toLocaleDateString(undefined, { day: "numeric", month: "short" })}`;
}

/** Workouts per type, the most done first. */
export function perType(workouts) {
  const counts = new Map();
  for (const workout of workouts) counts.set(workout.workout_type, (counts.get(workout.workout_type) || 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([type, value]) => ({ label: label(type), value }));
}
