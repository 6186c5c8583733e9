// The room's panels that only grow or change in place: who is here, chat, exercise updates.
import { h, show, section, field } from "../../ui.js";
import { personName, clock } from "./names.js";

// The DOM keeps at most this many chat lines and exercise updates; older ones are dropped.
export const MAX_ITEMS = 500;
export const CHAT_MAX = 1000;

/** Keep ``list`` to MAX_ITEMS children, dropping from the end the oldest sit at. */
function bound(list, oldestFirst) {
  while (list.children.length > MAX_ITEMS) (oldestFirst ? list.firstElementChild : list.lastElementChild).remove();
}

/** Who is in the session: a list kept in sync with the presence set. */
export function presencePanel(ownerId) {
  const count = h("p", { class: "muted" });
  const list = h("ul", { class: "live-people", "aria-live": "polite" });
  const update = (present) => {
    const people = [...present].sort((a, b) => personName(a).localeCompare(personName(b)));
    count.textContent = people.length === 1 ? "1 person here" : `${people.length} people here`;
    show(list, people.map((user) => h("li", {}, personName(user),
      user === ownerId ? h("span", { class: "badge" }, "host") : null)));
  };
  return { root: section("Who is here", count, list), update };
}

/** The chat: the messages in seq order and a form to send one. */
export function chatPanel(send, complain) {
  // role=log on a wrapper: on the <ol> itself it would hide the list from assistive tech.
  const log = h("ol", { class: "live-log live-chat" });
  const box = h("div", { class: "live-scroll", role: "log", "aria-label": "Chat messages", tabindex: 0 }, log);
  const empty = h("p", { class: "empty" }, "No messages yet. Say hello!");
  const input = h("textarea", { id: "live-chat-text", name: "message", rows: 2 });
  const form = h("form", { class: "live-say", "aria-label": "Send a chat message" },
    h("div", { class: "field" }, h("label", { for: input.id }, "Message"), input),
    h("button", { type: "submit" }, "Send"));
  const submit = (event) => {
    event?.preventDefault();
    const text = input.value.trim();
    if (!text) return complain("Write a message first.");
    if (text.length > CHAT_MAX) {
      return complain(`A message can have at most ${CHAT_MAX.toLocaleString()} characters; this one has ${text.length.toLocaleString()}.`);
    }
    if (send({ type: "chat_message", message: text })) input.value = "";
  };
  form.addEventListener("submit", submit);
  // Enter sends, Shift+Enter starts a new line (as chats do).
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
  });
  const add = (item) => {
    empty.remove();
    log.append(item);
    bound(log, true);
    box.scrollTop = box.scrollHeight;
  };
  const message = (event) => add(h("li", {},
    h("span", { class: "live-who" }, personName(event.user_id)), " ",
    h("time", { datetime: event.ts }, clock(event.ts)),
    h("p", { class: "live-text" }, String(event.message))));
  const note = (text) => add(h("li", { class: "muted" }, text));
  return { root: section("Chat", empty, box, form), message, note, form };
}

/** Exercise updates: the latest one, a log (newest first) and a form to share one. */
export function exercisePanel(send, complain) {
  const latest = h("p", { class: "live-now", "aria-live": "polite" }, "Nobody has shared an update yet.");
  const log = h("ol", { class: "live-log" });
  const box = h("div", { class: "live-scroll", role: "region", "aria-label": "Exercise log", tabindex: 0 }, log);
  const form = h("form", { "aria-label": "Share an exercise update" },
    field("Exercise", { name: "exercise", maxlength: 64, autocomplete: "off" }),
    field("Reps", { name: "reps", type: "number", min: 0, max: 10000, step: 1, inputmode: "numeric" }),
    field("Heart rate (bpm)", { name: "heart_rate", type: "number", min: 20, max: 250, step: 1, inputmode: "numeric" }),
    h("button", { type: "submit", class: "secondary" }, "Share update"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    const frame = { type: "exercise_update" };
    if (values.exercise.trim()) frame.exercise = values.exercise.trim();
    if (values.reps !== "") frame.reps = Number(values.reps);
    if (values.heart_rate !== "") frame.heart_rate = Number(values.heart_rate);
    if (Object.keys(frame).length === 1) return complain("Fill in the exercise, the reps or your heart rate first.");
    if (send(frame)) form.reset();
  });
  const update = (event) => {
    const text = `${personName(event.user_id)}: ${describe(event)}`;
    latest.textContent = `${text} (${clock(event.ts)})`;
    log.prepend(h("li", {}, h("time", { datetime: event.ts }, clock(event.ts)), " ", text));
    bound(log, false);
  };
  return { root: section("What people are doing", latest, form, h("h3", {}, "Exercise log"), box), update, form };
}

function describe(event) {
  const parts = [];
  if (event.exercise) parts.push(event.exercise);
  if (event.reps !== undefined && event.reps !== null) parts.push(`${event.reps} reps`);
  if (event.heart_rate) parts.push(`${event.heart_rate} bpm`);
  return parts.join(" · ") || "an update";
}
