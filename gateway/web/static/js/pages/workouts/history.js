// The workout history, newest first, 20 at a time with a "More" button.
import { api } from "../../api.js";
import { h, show, table, duration, num, errorBox } from "../../ui.js";
import { typeLabel } from "./current.js";

export const PAGE_SIZE = 20;

/** The history in ``box``; load() reads the first page again (after an end). */
export function workoutHistory(box, base, signal) {
  const state = { rows: [], next: "" };
  const more = h("button", { type: "button", class: "secondary" }, "More");
  const count = h("p", { class: "muted", "aria-live": "polite" });
  // Scrolls sideways on a phone: focusable, so the keyboard can scroll it too.
  const tableBox = h("div", { class: "table-wrap", tabindex: "0", role: "group", "aria-label": "Workout history table" });
  const problem = h("div");
  const draw = () => {
    show(tableBox, state.rows.length
      ? table("Workouts, newest first", COLUMNS, state.rows)
      : h("p", { class: "empty" }, "No workouts yet."));
    count.textContent = state.rows.length ? `Showing ${state.rows.length} ${state.rows.length === 1 ? "workout" : "workouts"}${state.next ? "" : " (all of them)"}.` : "";
    more.hidden = !state.next;
  };
  const fetchPage = async (token) => {
    const answer = await api(`${base}/workouts`, { query: { page_size: PAGE_SIZE, page_token: token }, signal });
    state.next = answer.next_page_token || "";
    return answer.workouts;
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    show(problem);
    try {
      state.rows.push(...(await fetchPage(state.next)));
      draw();
    } catch (error) {
      if (error?.name !== "AbortError") show(problem, errorBox(error));
    } finally {
      more.disabled = false;
    }
  });
  show(box, tableBox, count, more, problem);
  return {
    /** Read the first page again; resolves to its workouts. */
    async load() {
      state.rows = await fetchPage("");
      draw();
      return state.rows;
    },
  };
}

const COLUMNS = [
  ["Type", (row) => typeLabel(row.workout_type)],
  ["Started", (row) => shortWhen(row.start_time)],
  ["Duration", (row) => (row.end_time ? duration(row.duration) : "running")],
  ["Calories", (row) => (row.end_time ? `${num(row.calories_burned, 1)} kcal` : "—")],
];

function shortWhen(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}
