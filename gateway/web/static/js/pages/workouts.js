// The workouts page: the workout under way (start, timer, end), the history with paging,
// and statistics with charts per week and per type.
import { api } from "../api.js";
import * as session from "../session.js";
import { h, show, section, loading, quietly } from "../ui.js";
import { currentWorkout } from "./workouts/current.js";
import { workoutHistory } from "./workouts/history.js";
import { showStatistics } from "./workouts/stats.js";

// The page code by path; its menu entry (title, roles) is in pages/index.js.
export const renders = { workouts: render };

async function render(view, ctx) {
  const base = `/users/${encodeURIComponent(session.current().userId)}`;
  const currentBox = h("div");
  const historyBox = h("div");
  const statsBox = h("div");
  show(view, h("h1", {}, "Workouts"),
    section("Current workout", currentBox),
    section("History", historyBox),
    section("Statistics", statsBox));
  const history = workoutHistory(historyBox, base, ctx.signal);
  const first = Promise.all([api("/workout-types", { signal: ctx.signal }), history.load()]);
  const [types, rows] = await loading(currentBox, first, "Loading your workouts…");
  const refreshAll = () => {
    quietly(history.load());
    quietly(showStatistics(statsBox, base, ctx.signal));
  };
  // A session without an end is the one under way (e.g. before a reload): resume its timer.
  const running = rows.find((row) => !row.end_time) || null;
  const stop = currentWorkout(currentBox, {
    types, running, signal: ctx.signal, onStarted: () => quietly(history.load()), onEnded: refreshAll,
  });
  quietly(showStatistics(statsBox, base, ctx.signal));
  return stop;
}
