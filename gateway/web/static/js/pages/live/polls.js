// Polls: each shows its question, options with live tallies and whether it is open; the
// host may start one. Who chose what is never sent, so "your vote" is remembered locally.
import { h, show, section, field } from "../../ui.js";
import { clock } from "./names.js";
import * as session from "../../session.js";

const MAX_POLLS = 50;

/** The polls panel; ``canStart`` (the host) adds the form that starts one. */
export function pollsPanel(send, complain, { canStart, ownerId }) {
  const list = h("div", { class: "live-polls" });
  const empty = h("p", { class: "empty" }, "No polls yet.");
  const shown = new Map(); // poll_id -> element
  const mine = new Map(); // poll_id -> the option index this browser voted for
  const latest = new Map(); // poll_id -> the poll as last rendered
  const me = session.current()?.userId;

  const render = (poll) => {
    latest.set(poll.poll_id, poll);
    let box = shown.get(poll.poll_id);
    if (!box) {
      box = h("article", { class: "card live-poll", "aria-label": `Poll: ${poll.question}` });
      shown.set(poll.poll_id, box);
      empty.remove();
      list.prepend(box);
      while (shown.size > MAX_POLLS) dropOldest();
    }
    const open = poll.state !== "closed";
    const total = poll.tally.reduce((sum, n) => sum + n, 0);
    const vote = (option) => {
      if (send({ type: "vote", poll_id: poll.poll_id, option })) mine.set(poll.poll_id, option);
      render(latest.get(poll.poll_id));
    };
    const closeButton = open && (me === poll.creator || me === ownerId)
      ? h("button", { type: "button", class: "secondary", onclick: () => send({ type: "close_poll", poll_id: poll.poll_id }) }, "Close poll")
      : null;
    show(box,
      h("h3", {}, poll.question),
      h("p", { class: "muted" }, open ? `Open · closes at ${clock(poll.closes_at)}` : "Closed", " · ",
        h("span", { "aria-live": "polite" }, total === 1 ? "1 vote" : `${total} votes`)),
      h("ul", { class: "live-options" }, poll.options.map((option, index) =>
        optionRow(option, poll.tally[index] ?? 0, total, open, mine.get(poll.poll_id) === index, () => vote(index)))),
      closeButton ?? []);
  };

  const dropOldest = () => {
    const [id, box] = shown.entries().next().value;
    box.remove();
    shown.delete(id);
    latest.delete(id);
  };

  // After a resync: polls shown open that the new snapshot no longer lists closed meanwhile.
  const reset = (polls) => {
    for (const [id, poll] of latest) if (!polls.has(id) && poll.state !== "closed") render({ ...poll, state: "closed" });
    polls.forEach(render);
  };

  const root = section("Polls", empty, list, canStart ? startForm(send, complain) : null);
  return { root, render, reset };
}

function optionRow(option, count, total, open, chosen, vote) {
  const bar = h("span", { class: "bar" });
  bar.style.width = `${total ? Math.round((100 * count) / total) : 0}%`;
  const label = open
    ? h("button", { type: "button", class: chosen ? "" : "secondary", "aria-pressed": String(chosen), onclick: vote }, option)
    : h("span", { class: "live-option" }, option);
  return h("li", {}, label,
    h("span", { class: "bar-track", "aria-hidden": "true" }, bar),
    h("span", { class: "live-tally" }, count === 1 ? "1 vote" : `${count} votes`),
    chosen ? h("span", { class: "badge" }, "your vote") : null);
}

function startForm(send, complain) {
  const options = h("textarea", { id: "live-poll-options", name: "options", rows: 3, required: true });
  const form = h("form", { class: "stack", "aria-label": "Start a poll" }, h("h3", {}, "Start a poll"),
    field("Question", { name: "question", required: true, maxlength: 200, autocomplete: "off" }),
    h("div", { class: "field" }, h("label", { for: options.id }, "Options (one per line)"), options),
    field("Open for (seconds)", { name: "duration_seconds", type: "number", min: 5, max: 3600, value: 60, required: true }),
    h("button", { type: "submit" }, "Start poll"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    const choices = values.options.split("\n").map((line) => line.trim()).filter(Boolean);
    if (choices.length < 2 || choices.length > 10) return complain("A poll needs 2 to 10 options, one per line.");
    if (choices.some((choice) => choice.length > 100)) return complain("An option can have at most 100 characters.");
    const frame = { type: "start_poll", question: values.question.trim(), options: choices,
      duration_seconds: Number(values.duration_seconds) };
    if (send(frame)) form.reset();
  });
  return form;
}
