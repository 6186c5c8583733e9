// One goal on the list: its progress bar, status and pending badges, the outcome of the
// last change, an edit form and a delete that asks first.
import { h, show, field, onSubmit, when } from "../../ui.js";
import { humanMessage } from "../../api.js";
import { amount, dateAttrs, day, targetAttrs, typeOf } from "./types.js";

const PENDING_TEXT = { create: "Saving…", update: "Saving…", delete: "Deleting…" };

/** A card for ``goal``; ``actions``: save(card, fields) and remove(card), both async. */
export function goalCard(goal, actions) {
  const card = {
    goal,
    busy: null, // this page's own change under way: its badge text
    element: h("li", { class: "goal card", "data-goal-id": goal.goal_id }),
    summary: h("div", { class: "goal-summary" }),
    outcome: h("p", { class: "goal-outcome", role: "status", "aria-live": "polite" }),
    tools: h("div", { class: "goal-tools" }),
  };
  card.update = (next) => {
    card.goal = next;
    show(card.summary, summary(card).filter(Boolean));
  };
  card.setBusy = (text) => {
    card.busy = text;
    card.update(card.goal);
  };
  card.say = (text, kind = "ok") => {
    card.outcome.className = `goal-outcome ${kind}`;
    card.outcome.textContent = text;
  };
  card.element.append(card.summary, card.outcome, card.tools);
  card.update(goal);
  showTools(card, actions);
  return card;
}

/** A card for a goal the API has not answered for yet (its create is under way). */
export function draftCard(fields) {
  const goal = { goal_id: "", ...fields, current_progress: 0, status: "active", pending: { operation: "create" } };
  const card = goalCard(goal, null);
  card.setBusy("Saving…");
  return card;
}

function summary(card) {
  const { goal } = card;
  const target = Number(goal.target_value);
  const done = Math.min(Number(goal.current_progress) || 0, target);
  const percent = goal.status === "achieved" ? 100 : Math.floor((done / target) * 100);
  const title = `${typeOf(goal.goal_type).label}: ${amount(goal.goal_type, target)} by ${day(goal.target_date)}`;
  const pending = card.busy || (goal.pending ? PENDING_TEXT[goal.pending.operation] || "Saving…" : null);
  return [
    h("h3", {}, title, " ",
      h("span", { class: `badge ${goal.status === "achieved" ? "achieved" : "active"}` }, goal.status === "achieved" ? "Achieved" : "Active"),
      pending ? h("span", { class: "badge pending" }, pending) : null),
    h("progress", { max: target, value: done, "aria-label": `Progress of ${title}` }),
    h("p", { class: "goal-progress" }, `${amount(goal.goal_type, Number(goal.current_progress) || 0)} of ${amount(goal.goal_type, target)} · ${percent}%`),
    goal.achieved_at ? h("p", { class: "muted" }, `Achieved ${when(goal.achieved_at)}`) : null,
    goal.goal_type === "distance_km" ? h("p", { class: "muted" }, "Workouts record no distance yet, so this goal does not advance by itself.") : null,
  ];
}

function showTools(card, actions) {
  if (!actions) return show(card.tools);
  show(card.tools,
    h("button", { type: "button", class: "secondary", onclick: () => showEdit(card, actions) }, "Edit"),
    h("button", { type: "button", class: "danger", onclick: () => askDelete(card, actions) }, "Delete"));
}

function showEdit(card, actions) {
  const { goal } = card;
  const id = goal.goal_id;
  const form = h("form", { class: "goal-edit", "aria-label": "Edit goal" },
    field("Target", { ...targetAttrs(goal.goal_type, goal.target_value), id: `target-${id}` }),
    field("Target date", { ...dateAttrs(goal.target_date), id: `date-${id}` }),
    h("button", { type: "submit" }, "Save changes"),
    h("button", { type: "button", class: "secondary", onclick: () => showTools(card, actions) }, "Cancel"));
  onSubmit(form, async (values) => {
    const fields = {};
    if (Number(values.target_value) !== Number(goal.target_value)) fields.target_value = Number(values.target_value);
    if (values.target_date !== goal.target_date) fields.target_date = values.target_date;
    if (!Object.keys(fields).length) return showTools(card, actions);
    await actions.save(card, fields); // a refusal throws: onSubmit shows it under the form
    showTools(card, actions);
  });
  show(card.tools, form);
  form.querySelector("input").focus();
}

function askDelete(card, actions) {
  const yes = h("button", { type: "button", class: "danger" }, "Yes, delete it");
  const no = h("button", { type: "button", class: "secondary", onclick: () => showTools(card, actions) }, "Keep it");
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    no.disabled = true;
    try {
      await actions.remove(card);
    } catch (error) {
      card.say(humanMessage(error), "error");
      showTools(card, actions);
    }
  });
  show(card.tools, h("div", { class: "confirm", role: "group", "aria-label": "Confirm deletion" },
    h("p", {}, "Delete this goal? Its progress is lost."), yes, no));
  no.focus();
}
