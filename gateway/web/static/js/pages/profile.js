// The signed-in user's profile: display name, weight, height, birth year; and deleting the
// account, which signs out.
import { api, humanMessage } from "../api.js";
import * as session from "../session.js";
import { h, show, loading, onSubmit, flash, section, when } from "../ui.js";
import { profileBody, profileFields } from "./auth.js";

function userPath() {
  return `/users/${encodeURIComponent(session.current().userId)}`;
}

async function renderProfile(view, ctx) {
  const box = h("div", {});
  show(view, h("h1", {}, "Profile"), box);
  let user;
  try {
    user = await loading(box, api(userPath(), { signal: ctx.signal }), "Loading your profile…");
  } catch {
    return; // loading() shows the reason; a page left meanwhile shows nothing
  }
  show(box, account(user), editForm(user, ctx), deletion(ctx));
}

function account(user) {
  return section("Account",
    h("dl", { class: "facts" },
      h("dt", {}, "Username"), h("dd", {}, user.username),
      h("dt", {}, "Email"), h("dd", {}, user.email),
      h("dt", {}, "Member since"), h("dd", {}, when(user.created_at))));
}

function editForm(user, ctx) {
  const form = h("form", { class: "stack", "aria-label": "Edit profile" },
    ...profileFields(user).map(withoutOptional),
    h("button", { type: "submit" }, "Save"));
  onSubmit(form, async (values) => {
    // Empty number fields are left out (the API keeps them); an empty name clears it.
    await api(userPath(), { method: "PATCH", body: profileBody(values, { keepEmptyName: true }), signal: ctx.signal });
    flash("Saved", "good");
  });
  return section("Details", form);
}

// On the profile every field is optional: the label needs no "(optional)".
function withoutOptional(fieldBox) {
  const label = fieldBox.querySelector("label");
  label.textContent = label.textContent.replace(" (optional)", "");
  return fieldBox;
}

function deletion(ctx) {
  const confirm = h("div", { class: "confirm", hidden: true },
    h("p", { id: "delete-warning" }, "This deletes your account with its goals, workouts, statistics and notifications. It cannot be undone."),
    h("button", { type: "button", class: "danger", "aria-describedby": "delete-warning", onclick: () => remove(ctx, confirm) }, "Yes, delete my account"),
    " ",
    h("button", { type: "button", class: "secondary", onclick: () => ask(false) }, "Cancel"),
    h("p", { class: "error", role: "alert", hidden: true }));
  const start = h("button", { type: "button", class: "danger", "aria-expanded": "false", onclick: () => ask(true) }, "Delete account");
  function ask(open) {
    confirm.hidden = !open;
    start.hidden = open;
    start.setAttribute("aria-expanded", String(open));
    (open ? confirm.querySelector("button.secondary") : start).focus();
  }
  return section("Delete account", start, confirm);
}

async function remove(ctx, confirm) {
  const buttons = confirm.querySelectorAll("button");
  const message = confirm.querySelector("[role=alert]");
  buttons.forEach((button) => (button.disabled = true));
  try {
    // 204: deleted; 202: the deletion saga runs on and the account is already gone for callers.
    await api(userPath(), { method: "DELETE", signal: ctx.signal });
  } catch (error) {
    if (ctx.signal.aborted) return;
    message.textContent = humanMessage(error);
    message.hidden = false;
    buttons.forEach((button) => (button.disabled = false));
    return;
  }
  session.clear();
  flash("Your account has been deleted.", "info");
  ctx.navigate("sign-in", { replace: true });
}

// The page code by path; its menu entry (title, roles) is in pages/index.js.
export const renders = { profile: renderProfile };
