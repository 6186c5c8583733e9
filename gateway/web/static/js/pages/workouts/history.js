// The workout history, newest first, 20 at a time with a "More" button.
import { api } from "../../api.js";
import { h, show, table, duration, num, errorBox, label } from "../../ui.js";

export const PAGE_SIZE = 20;

/** The history in ``box``; load() reads the first page again (after an end). */
export function workoutHistory(box, base, signal) {
  // ``generation`` counts load()s: a page read for an older generation is dropped, so a
  // "More" answering after a load() cannot append its rows to the new first page.
  const state = { rows: [], next: "", generation: 0, loading: 0 };
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
  const fetchPage = (token) => api(`${base}/workouts`, { query: { page_size: PAGE_SIZE, page_token: token }, signal });
  more.addEventListener("click", async () => {
    const generation = state.generation;
    more.disabled = true;
    show(problem);
    try {
      const answer = await fetchPage(state.next);
      if (generation !== state.generation) return;
      state.rows.push(...answer.workouts);
      state.next = answer.next_page_token || "";
      draw();
    } catch (error) {
      if (error?.name !== "AbortError" && generation === state.generation) show(problem, errorBox(error));
    } finally {
      more.disabled = state.loading > 0;
    }
  });
  show(box, tableBox, count, more, problem);
  return {
    /** Read the first page again; resolves to its workouts. */
    async load() {
      const generation = ++state.generation;
      state.loading += 1;
      more.disabled = true;
      try {
        const answer = await fetchPage("");
        if (generation === state.generation) {
          Object.assign(state, { rows: answer.workouts, next: answer.next_page_token || "" });
          draw();
        }
        return answer.workouts;
      } finally {
        state.loading -= 1;
        more.disabled = state.loading > 0;
      }
    },
  };
}

const COLUMNS = [
  ["Type", (row) => label(row.workout_type)],
  ["Started", (row) => shortWhen(row.start_time)],
  ["Duration", (row) => (row.end_time ? duration(row.duration) : "running")],
  ["Calories", (row) => (row.end_time ? `${num(row.calories_burned, 1)} kcal` : "—")],
];

function shortWhen(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}
