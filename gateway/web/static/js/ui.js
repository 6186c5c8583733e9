// Small DOM helpers every page shares: building elements, progress, errors, formats.
import { humanMessage } from "./api.js";

/** An element: h("button", {type: "submit", onclick}, "Save"). Text children are escaped. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** Replace what ``container`` shows. */
export function show(container, ...children) {
  container.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
}

/** A progress message for a load under way. */
export function progress(text = "Loading…") {
  return h("p", { class: "progress", role: "status" }, text);
}

/** An error as a message a person understands (never a raw JSON body). */
export function errorBox(error) {
  return h("p", { class: "error", role: "alert" }, humanMessage(error));
}

/** Show progress in ``container`` while ``work`` runs; on failure show its message there. */
export async function loading(container, work, text) {
  show(container, progress(text));
  try {
    return await work;
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    show(container, errorBox(error));
    throw error;
  }
}

/** A message at the top of the page for a few seconds (saved, deleted, alert received). */
export function flash(message, kind = "info") {
  const box = document.getElementById("flash");
  const item = h("p", { class: `flash ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

/** A labelled form field; ``attrs`` go to the <input> (or <select> when ``options`` given). */
export function field(label, attrs = {}, options = null) {
  const id = attrs.id || `f-${attrs.name}`;
  const control = options
    ? h("select", { ...attrs, id }, options.map(([value, text]) => h("option", { value }, text)))
    : h("input", { ...attrs, id });
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

/** Run a form's submit: disable it, show the error under it, re-enable it. */
export function onSubmit(form, handler) {
  const message = h("p", { class: "error", role: "alert", hidden: true });
  form.append(message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("[type=submit]");
    message.hidden = true;
    if (button) button.disabled = true;
    try {
      await handler(Object.fromEntries(new FormData(form)));
    } catch (error) {
      message.textContent = humanMessage(error);
      message.hidden = false;
    } finally {
      if (button) button.disabled = false;
    }
  });
  return form;
}

/** "1 h 05 min", "12 min 30 s" for a number of seconds. */
export function duration(seconds) {
  const s = Math.round(seconds);
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (hours) return `${hours} h ${String(minutes).padStart(2, "0")} min`;
  if (minutes) return `${minutes} min ${String(s % 60).padStart(2, "0")} s`;
  return `${s} s`;
}

/** A timestamp (RFC 3339 or epoch ms) in the reader's locale. */
export function when(value) {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleString();
}

/** A number with at most ``digits`` decimals, in the reader's locale. */
export function num(value, digits = 0) {
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
}

/** A table: ``columns`` are [heading, (row) => cell] pairs. */
export function table(caption, columns, rows) {
  return h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map(([heading]) => h("th", { scope: "col" }, heading)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))))));
}

/** A section of a page with a heading. */
export function section(title, ...children) {
  return h("section", { "aria-label": title }, h("h2", {}, title), ...children);
}

/** Wait ``ms``; rejects with the signal's reason when it aborts first (no listener left). */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve();
    }, ms);
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/** Run secondary work whose failure the page already shows where it happens. */
export function quietly(promise) {
  promise.catch(() => {});
}

/** A Date as a datetime-local input's value ("2026-12-02T07:05"), in the reader's zone. */
export function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A Date as YYYY-MM-DD in the reader's zone (date inputs, goal deadlines). */
export function localDay(date) {
  return localInput(date).slice(0, 10);
}

/** An API name for people: "strength_training" → "Strength training", "hiit" → "HIIT". */
export function label(name) {
  if (name === "hiit") return "HIIT";
  const text = String(name).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
