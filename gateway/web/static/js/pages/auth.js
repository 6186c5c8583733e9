// Signing up, in and out. Tokens go to session.js; the next page is where the person was
// sent from (?next=), if that is one of the app's own pages.
import { api } from "../api.js";
import * as session from "../session.js";
import { h, show, field, onSubmit, flash, progress } from "../ui.js";

const HOME = "goals";
// The API's e-mail rule (a dot in the domain), which type="email" alone lets through.
const EMAIL = { type: "email", maxlength: 254, pattern: "[^@\\s]+@[^@\\s]+\\.[^@\\s]+", title: "An address like name@example.com" };
const ACCOUNT_PAGES = new Set(["sign-in", "sign-up", "sign-out"]);
// The API's limits (docs/api.md POST /users/register), so the browser checks them first.
export const PROFILE_LIMITS = {
  display_name: { maxlength: 64 },
  weight_kg: { type: "number", min: 20, max: 400, step: "0.1", inputmode: "decimal" },
  height_cm: { type: "number", min: 50, max: 272, step: "0.1", inputmode: "decimal" },
  birth_year: { type: "number", min: 1900, max: new Date().getFullYear(), step: 1, inputmode: "numeric" },
};

/** ``next`` if it names a page of this app (no scheme, host, "..", or account page), else home. */
export function safeNext(next) {
  if (typeof next !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_\-/]*$/.test(next)) return HOME;
  if (next.includes("//") || ACCOUNT_PAGES.has(next.split("/")[0])) return HOME;
  return next;
}

// The other account page keeps where the person was going.
function withNext(href, ctx) {
  const next = ctx.query.get("next");
  return next && safeNext(next) === next ? `${href}?next=${encodeURIComponent(next)}` : href;
}

/** Sign in with an email and password; the session is stored. */
export async function logIn(email, password, signal) {
  const answer = await api("/users/login", { method: "POST", body: { email, password }, auth: false, signal });
  return session.store(answer);
}

/** The profile fields of a form's values that were filled in, typed as the API wants them. */
export function profileBody(values, { keepEmptyName = false } = {}) {
  const body = {};
  const name = (values.display_name ?? "").trim();
  if (name || keepEmptyName) body.display_name = name;
  for (const key of ["weight_kg", "height_cm", "birth_year"]) {
    if (values[key] !== undefined && values[key] !== "") body[key] = Number(values[key]);
  }
  return body;
}

/** The optional profile inputs (shared with the profile page). */
export function profileFields(values = {}) {
  const filled = (key) => (values[key] === null || values[key] === undefined ? undefined : values[key]);
  return [
    field("Display name (optional)", { name: "display_name", autocomplete: "nickname", value: filled("display_name"), ...PROFILE_LIMITS.display_name }),
    field("Weight in kg (optional)", { name: "weight_kg", value: filled("weight_kg"), ...PROFILE_LIMITS.weight_kg }),
    field("Height in cm (optional)", { name: "height_cm", value: filled("height_cm"), ...PROFILE_LIMITS.height_cm }),
    field("Birth year (optional)", { name: "birth_year", value: filled("birth_year"), ...PROFILE_LIMITS.birth_year }),
  ];
}

function renderSignIn(view, ctx) {
  const form = h("form", { class: "stack", "aria-label": "Sign in" },
    field("Email", { name: "email", autocomplete: "username", required: true, ...EMAIL }),
    field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true, maxlength: 128 }),
    h("button", { type: "submit" }, "Sign in"));
  onSubmit(form, async ({ email, password }) => {
    await logIn(email.trim(), password, ctx.signal);
    ctx.navigate(safeNext(ctx.query.get("next")), { replace: true });
  });
  show(view, h("h1", {}, "Sign in"), form,
    h("p", {}, "New here? ", h("a", { href: withNext("/app/sign-up", ctx) }, "Create an account")));
  form.querySelector("input").focus();
}

// A field with a line saying what it takes, read out with the input.
function hinted(fieldBox, text) {
  const input = fieldBox.querySelector("input");
  const hint = h("p", { id: `${input.id}-hint`, class: "hint muted" }, text);
  input.setAttribute("aria-describedby", hint.id);
  fieldBox.append(hint);
  return fieldBox;
}

function renderSignUp(view, ctx) {
  const form = h("form", { class: "stack", "aria-label": "Sign up" },
    hinted(field("Username", { name: "username", autocomplete: "username", required: true, minlength: 3, maxlength: 32, pattern: "[A-Za-z0-9._\\-]{3,32}", title: "3 to 32 letters, digits, dots, underscores or hyphens" }),
      "3 to 32 letters, digits, dots, underscores or hyphens."),
    field("Email", { name: "email", autocomplete: "email", required: true, ...EMAIL }),
    hinted(field("Password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 128 }),
      "8 to 128 characters."),
    ...profileFields(),
    h("button", { type: "submit" }, "Create account"));
  onSubmit(form, async (values) => {
    const account = { username: values.username.trim(), email: values.email.trim(), password: values.password };
    await api("/users/register", { method: "POST", body: { ...account, ...profileBody(values) }, auth: false, signal: ctx.signal });
    await logIn(account.email, account.password, ctx.signal);
    flash("Welcome! Your account is ready.", "good");
    ctx.navigate(safeNext(ctx.query.get("next")), { replace: true });
  });
  show(view, h("h1", {}, "Sign up"), form,
    h("p", {}, "Already have an account? ", h("a", { href: withNext("/app/sign-in", ctx) }, "Sign in")));
}

async function renderSignOut(view, ctx) {
  show(view, h("h1", {}, "Sign out"), progress("Signing out…"));
  const refreshToken = session.current()?.refreshToken;
  try {
    // Revokes the refresh token; a failure (offline, already revoked) still signs out here.
    if (refreshToken) await api("/users/logout", { method: "POST", body: { refresh_token: refreshToken }, auth: false });
  } catch {
    // The tokens are forgotten below either way; the access token expires by itself.
  }
  session.clear();
  flash("You are signed out.", "info");
  ctx.navigate("sign-in", { replace: true });
}

// The page code by path; its menu entry (title, roles) is in pages/index.js.
export const renders = { "sign-in": renderSignIn, "sign-up": renderSignUp, "sign-out": renderSignOut };
