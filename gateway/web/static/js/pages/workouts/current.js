// The workout under way: start one with a type, a timer while it runs (resumed after a
// reload from the history's session without an end), end it to see duration and calories.
import { api, humanMessage } from "../../api.js";
import { h, show, field, onSubmit, duration, num, when, label } from "../../ui.js";

/** "04:07", or "1:04:07" past an hour. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (value) => String(value).padStart(2, "0");
  const minutes = pad(Math.floor((s % 3600) / 60));
  const rest = `${minutes}:${pad(s % 60)}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${rest}` : rest;
}

/**
 * The panel in ``box``: ``types`` from GET /workout-types, ``running`` the session without
 * an end (or null). ``onStarted(session)`` and ``onEnded(ended)`` are told. Returns stop() for the page's cleanup.
 */
export function currentWorkout(box, { types, running, signal, onStarted, onEnded }) {
  const state = { timer: null };
  // Start and end are announced; the ticking clock is not (role=timer is aria-live off).
  const announcer = h("p", { class: "announce", role: "status", "aria-live": "polite" });
  const body = h("div");
  box.replaceChildren(announcer, body);
  const stopTimer = () => clearInterval(state.timer);
  const idle = () => {
    stopTimer();
    show(body, startForm(types, signal, (session) => {
      announcer.textContent = `Workout started: ${label(session.workout_type)}.`;
      runningPanel(session);
      onStarted?.(session);
    }));
  };
  const runningPanel = (session) => {
    const started = Date.parse(session.start_time);
    const face = h("p", { class: "timer", role: "timer", "aria-label": "Elapsed time" }, clock((Date.now() - started) / 1000));
    stopTimer();
    state.timer = setInterval(() => {
      face.textContent = clock((Date.now() - started) / 1000);
    }, 1000);
    const end = h("button", { type: "button", class: "danger" }, "End workout");
    const problem = h("p", { class: "error", role: "alert", hidden: true });
    end.addEventListener("click", async () => {
      end.disabled = true;
      problem.hidden = true;
      try {
        const ended = await api(`/workouts/${encodeURIComponent(session.session_id)}/end`, { method: "POST", signal });
        idle();
        const summary = `Workout ended: ${label(ended.workout_type)}, ${duration(ended.duration)}, ${num(ended.calories_burned, 1)} kcal.`;
        announcer.textContent = summary;
        onEnded?.(ended);
      } catch (error) {
        if (error?.name === "AbortError") return;
        problem.textContent = humanMessage(error);
        problem.hidden = false;
        end.disabled = false;
      }
    });
    show(body,
      h("p", {}, h("strong", {}, label(session.workout_type)), ` since ${when(session.start_time)}`),
      face, h("div", { class: "run-tools" }, end), problem);
  };
  if (running) runningPanel(running);
  else idle();
  return stopTimer;
}

function startForm(types, signal, started) {
  const options = types.map((type) => [type.name, `${label(type.name)} (${type.description})`]);
  const form = h("form", { class: "workout-start", "aria-label": "Start a workout" },
    field("Workout type", { name: "workout_type", required: true }, options),
    h("button", { type: "submit" }, "Start workout"));
  onSubmit(form, async (values) => {
    started(await api("/workouts/start", { method: "POST", body: { workout_type: values.workout_type }, signal }));
  });
  return form;
}
