// The shell: routes /app/<page> to a page module, keeps the menu, guards signed-in pages.
import * as session from "./session.js";
import { h, show, flash, errorBox, progress } from "./ui.js";
import { PAGES } from "./pages/index.js";
import { keepNotificationsOpen } from "./notifications.js";

const BASE = "/app/";
const view = document.getElementById("view");
let leaving = null; // the current page's cleanup and AbortController

/** Go to an /app/ page (a path under /app/, e.g. "goals" or "sessions/42"). */
export function navigate(path, { replace = false } = {}) {
  const url = BASE + path.replace(/^\/?(app\/)?/, "");
  history[replace ? "replaceState" : "pushState"](null, "", url);
  return route().catch(console.error);
}

function match(path) {
  const parts = path.split("/").filter(Boolean);
  for (const page of PAGES) {
    const pattern = page.path.split("/").filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params = {};
    const fits = pattern.every((part, index) => {
      if (part.startsWith(":")) return (params[part.slice(1)] = decoded(parts[index])) !== null;
      return part === parts[index];
    });
    if (fits) return { page, params };
  }
  return null;
}

// A malformed escape (/app/sessions/%E0) is no page, not an exception.
function decoded(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

async function route() {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "";
  const signedIn = session.current();
  if (path === "") return navigate(signedIn ? "goals" : "sign-in", { replace: true });
  const found = match(path);
  if (found && !found.page.public && !signedIn) return navigate(`sign-in?next=${encodeURIComponent(path)}`, { replace: true });
  await leave();
  renderMenu();
  keepNotificationsOpen();
  if (!found) return showPage("Not found", h("p", { class: "error", role: "alert" }, "There is no such page."));
  if (!session.hasRole(signedIn, found.page.roles)) {
    return showPage(found.page.title, h("p", { class: "error", role: "alert" },
      "This page is for operators: your account does not have the role it needs."));
  }
  const controller = new AbortController();
  leaving = { controller, cleanup: null };
  document.title = `${found.page.title} · Fitness Goal Tracker`;
  show(view, progress());
  try {
    const render = (await found.page.load()).renders[found.page.path];
    if (leaving?.controller !== controller) return; // left while its code loaded
    show(view);
    const cleanup = await render(view, { params: found.params, navigate, signal: controller.signal, query: new URLSearchParams(location.search) });
    if (leaving?.controller === controller) leaving.cleanup = cleanup || null;
    else cleanup?.();
  } catch (error) {
    console.error(error);
    const current = leaving?.controller === controller; // not a page the user already left
    if (current && error?.name !== "AbortError" && !view.querySelector("[role=alert]")) show(view, errorBox(error));
  }
  if (leaving?.controller === controller) markRendered(); // not for a page already left
}

function showPage(title, ...children) {
  document.title = `${title} · Fitness Goal Tracker`;
  show(view, h("h1", {}, title), ...children);
  markRendered();
}

async function leave() {
  if (!leaving) return;
  leaving.controller.abort();
  try {
    leaving.cleanup?.();
  } finally {
    leaving = null;
  }
}

// The benchmark reads this mark: the first page's content is on screen.
function markRendered() {
  if (!performance.getEntriesByName("page-rendered").length) performance.mark("page-rendered");
  view.dataset.rendered = location.pathname;
}

function renderMenu() {
  const signedIn = session.current();
  const nav = document.getElementById("nav");
  const here = location.pathname.slice(BASE.length).split("/")[0];
  const links = PAGES.filter((page) => page.nav && (page.public ? !signedIn : signedIn) && session.hasRole(signedIn, page.roles));
  show(nav, h("ul", {}, links.map((page) => h("li", {},
    h("a", { href: BASE + page.path, "aria-current": page.path === here ? "page" : null }, page.title)))));
  const who = document.getElementById("who");
  show(who, signedIn ? h("a", { href: `${BASE}sign-out`, class: "sign-out" }, "Sign out") : null);
}

// Links inside the app change the page without a reload.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || link.target || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(BASE) || url.pathname.includes(".")) return;
  event.preventDefault();
  document.getElementById("nav").classList.remove("open");
  document.getElementById("menu").setAttribute("aria-expanded", "false");
  navigate(url.pathname.slice(BASE.length) + url.search);
});

document.getElementById("menu").addEventListener("click", (event) => {
  const open = document.getElementById("nav").classList.toggle("open");
  event.currentTarget.setAttribute("aria-expanded", String(open));
});

window.addEventListener("popstate", () => route().catch(console.error));
window.addEventListener("session-ended", () => {
  flash("Your session has ended. Please sign in again.", "warn");
  navigate(`sign-in?next=${encodeURIComponent(location.pathname.slice(BASE.length))}`, { replace: true });
});

route().catch(console.error);
