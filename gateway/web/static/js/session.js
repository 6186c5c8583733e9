// The signed-in user's tokens. Kept in sessionStorage: they last as long as the tab, and
// no other tab or site reads them (the page's CSP allows no foreign script).
const KEY = "fgt.session";

/** The stored session {token, refreshToken, userId, roles, expiresAt}, or null. */
export function current() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return saved && saved.token ? saved : null;
  } catch {
    return null;
  }
}

/** Keep a login or refresh answer of the API as the session. */
export function store(answer) {
  const session = {
    token: answer.token,
    refreshToken: answer.refresh_token,
    userId: answer.user_id,
    roles: rolesOf(answer.token),
    expiresAt: Date.now() + answer.expires_in * 1000,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

/** Forget the session (sign-out, or a refresh the server refused). */
export function clear() {
  sessionStorage.removeItem(KEY);
}

/** Whether the signed-in user holds any of ``roles`` (an empty list: anyone signed in). */
export function hasRole(session, roles) {
  return !roles || roles.length === 0 || roles.some((role) => session?.roles.includes(role));
}

// Only to show or hide links: the gateway checks the signed token on every call.
function rolesOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const roles = JSON.parse(atob(payload)).roles;
    return Array.isArray(roles) ? roles.map(String) : [];
  } catch {
    return [];
  }
}
