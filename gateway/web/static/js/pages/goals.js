// The goals page (the home page after sign-in): the list with progress first, then this
// week's plan and the alerts. Changes go through the saga coordinator: a card shows
// "Saving…" while its saga runs, then the outcome.
import { api, humanMessage } from "../api.js";
import * as session from "../session.js";
import { h, show, section, loading, flash, quietly, sleep } from "../ui.js";
import { goalCard, draftCard } from "./goals/card.js";
import { createForm } from "./goals/form.js";
import { sendChange, waitForChange, changeError } from "./goals/changes.js";
import { showSuggestions, alertsList } from "./goals/extras.js";

// The page code by path; its menu entry (title, roles) is in pages/index.js.
export const renders = { goals: render };

async function render(view, ctx) {
  const base = `/users/${encodeURIComponent(session.current().userId)}`;
  const page = {
    base,
    signal: ctx.signal,
    cards: new Map(), // goal_id → card
    watching: new Set(), // goal ids whose pending saga is polled
    list: h("ul", { class: "goals plain" }),
    empty: h("p", { class: "empty" }, "No goals yet: set one below."),
    listBox: h("div", { class: "goal-list" }),
    planBox: h("div"),
  };
  const alerts = alertsList(h("div"), base);
  const listSection = section("Your goals", page.listBox);
  page.heading = listSection.querySelector("h2");
  page.heading.setAttribute("tabindex", "-1");
  show(view, h("h1", {}, "Goals"), listSection,
    section("New goal", createForm((fields) => create(page, fields))),
    section("This week's plan", page.planBox),
    section("Recent alerts", alerts.box));
  // Listening before the first load: an alert arriving meanwhile is not missed.
  const onAlert = (event) => quietly(achieved(page, alerts, event.detail));
  window.addEventListener("notification", onAlert);
  const cleanup = () => window.removeEventListener("notification", onAlert);
  try {
    await loading(page.listBox, refresh(page), "Loading your goals…");
  } catch (error) {
    cleanup();
    throw error;
  }
  quietly(showSuggestions(page.planBox, base, ctx.signal));
  quietly(alerts.load(ctx.signal));
  return cleanup;
}

/** Read the goals again and bring the cards in line (open edit forms and messages stay). */
async function refresh(page) {
  const { goals } = await api(`${page.base}/goals`, { signal: page.signal });
  const ids = new Set(goals.map((goal) => goal.goal_id));
  for (const [id, card] of page.cards) {
    if (!ids.has(id) && !card.busy) drop(page, id);
  }
  // While this page creates a goal, its draft card stands for it (not a second card).
  const drafting = page.list.querySelector(".draft") !== null;
  const shown = goals.filter((goal) => !(drafting && goal.pending?.operation === "create" && !page.cards.has(goal.goal_id)));
  const ordered = shown.map((goal) => cardFor(page, goal).element);
  const drafts = [...page.list.children].filter((element) => element.classList.contains("draft"));
  const now = [...page.list.children].filter((element) => !element.classList.contains("draft"));
  // Moving a node loses its focus: reorder only when the order changed.
  if (now.length !== ordered.length || now.some((element, index) => element !== ordered[index])) {
    page.list.replaceChildren(...drafts, ...ordered);
  }
  showList(page);
}

function cardFor(page, goal) {
  let card = page.cards.get(goal.goal_id);
  if (card) card.update(goal);
  else page.cards.set(goal.goal_id, (card = goalCard(goal, actionsOf(page))));
  if (goal.pending && !card.busy) quietly(watch(page, card));
  return card;
}

function showList(page) {
  page.empty.hidden = page.list.children.length > 0;
  if (!page.list.isConnected) show(page.listBox, page.list, page.empty);
}

function drop(page, id) {
  page.cards.get(id)?.element.remove();
  page.cards.delete(id);
}

function actionsOf(page) {
  return { save: (card, fields) => save(page, card, fields), remove: (card) => remove(page, card) };
}

/** Create: a draft card says "Saving…" until the saga's outcome; a refusal goes to the form. */
async function create(page, fields) {
  const draft = draftCard(fields);
  draft.element.classList.add("draft");
  page.list.prepend(draft.element);
  showList(page);
  let result;
  try {
    result = await sendChange(`${page.base}/goals`, {
      method: "POST", body: fields, signal: page.signal, onPending: () => draft.say(STILL_SAVING, "muted"),
    });
  } finally {
    draft.element.remove();
    showList(page);
  }
  if (!result.applied) throw result.error;
  await refresh(page);
  page.cards.get(result.goalId)?.say("Saved.");
  quietly(showSuggestions(page.planBox, page.base, page.signal));
}

const STILL_SAVING = "Still saving: this can take a moment.";

/** Edit: "Saving…" on the card; an immediate refusal is thrown (the edit form shows it). */
async function save(page, card, fields) {
  card.setBusy("Saving…");
  card.say("");
  let result;
  try {
    result = await sendChange(goalPath(page, card), {
      method: "PATCH", body: fields, signal: page.signal, onPending: () => card.say(STILL_SAVING, "muted"),
    });
  } finally {
    card.setBusy(null);
  }
  if (!result.applied) return card.say(`Not saved: ${humanMessage(result.error)}`, "error");
  if (result.goal) card.update(result.goal);
  else await refresh(page);
  card.say("Saved.");
  quietly(showSuggestions(page.planBox, page.base, page.signal));
}

/** Delete (confirmed by the card): "Deleting…" until the saga's outcome. */
async function remove(page, card) {
  card.setBusy("Deleting…");
  card.say("");
  let result;
  try {
    result = await sendChange(goalPath(page, card), {
      method: "DELETE", signal: page.signal, onPending: () => card.say("Still deleting: this can take a moment.", "muted"),
    });
  } finally {
    card.setBusy(null);
  }
  if (!result.applied) throw result.error;
  drop(page, card.goal.goal_id);
  showList(page);
  page.heading.focus();
  flash("Goal deleted.", "good");
  quietly(showSuggestions(page.planBox, page.base, page.signal));
}

function goalPath(page, card) {
  return `${page.base}/goals/${encodeURIComponent(card.goal.goal_id)}`;
}

/** A goal another tab (or an earlier visit) is changing: wait for its saga, then re-read. */
async function watch(page, card) {
  const { goal_id: id, pending } = card.goal;
  if (page.watching.has(id)) return;
  page.watching.add(id);
  try {
    const change = await waitForChange(`${page.base}/changes/${encodeURIComponent(pending.saga_id)}`, page.signal);
    if (change.applied) card.say("The change was saved.");
    else card.say(`The change was not saved: ${humanMessage(changeError(change))}`, "error");
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    await settled(page, id); // a change the status route does not know: watch the goal itself
  } finally {
    page.watching.delete(id);
  }
  await refresh(page);
}

/** Poll the goal until no saga holds it (or it is gone), for at most a minute. */
async function settled(page, id) {
  for (let tries = 0; tries < 60; tries += 1) {
    await sleep(1000, page.signal);
    try {
      if (!(await api(`${page.base}/goals/${encodeURIComponent(id)}`, { signal: page.signal })).pending) return;
    } catch (error) {
      if (error?.name === "AbortError" || error.status === 404) return;
    }
  }
}

/** A goal_achieved alert: on the alert list, the list re-read, the goal marked. */
async function achieved(page, alerts, frame) {
  if (frame?.type !== "goal_achieved") return;
  alerts.add(frame);
  await refresh(page);
  const card = page.cards.get(frame.goal_id);
  if (card) {
    card.element.classList.add("just-achieved");
    card.say(`Goal achieved! ${frame.message}`);
  }
  quietly(showSuggestions(page.planBox, page.base, page.signal));
}

