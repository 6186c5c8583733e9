// Every page of the dashboard, in menu order: what the menu and the router need at once.
// A page: {path ("goals", "sessions/:id"), title, nav (in the menu), public (signed-out
// only), roles (any of), load}. Its code, `renders[path]` of its module, is imported the
// first time it is opened, so the first page fetches only its own modules. A render(view,
// ctx) may return a cleanup function, run when the user leaves the page.
const area = (load, pages) => pages.map((page) => ({ nav: true, public: false, roles: [], ...page, load }));

export const PAGES = [
  ...area(() => import("./auth.js"), [
    { path: "sign-in", title: "Sign in", public: true },
    { path: "sign-up", title: "Sign up", public: true },
    { path: "sign-out", title: "Sign out", public: true, nav: false },
  ]),
  ...area(() => import("./goals.js"), [{ path: "goals", title: "Goals" }]),
  ...area(() => import("./workouts.js"), [{ path: "workouts", title: "Workouts" }]),
  ...area(() => import("./live.js"), [
    { path: "sessions", title: "Live sessions" },
    { path: "sessions/:id", title: "Live session", nav: false },
  ]),
  ...area(() => import("./health.js"), [{ path: "health", title: "Health" }]),
  ...area(() => import("./motion.js"), [{ path: "motion", title: "Motion" }]),
  ...area(() => import("./watch_logs.js"), [{ path: "watch-logs", title: "Watch logs", roles: ["analyst", "admin"] }]),
  ...area(() => import("./operations.js"), [{ path: "operations", title: "Operations", roles: ["admin"] }]),
  ...area(() => import("./profile.js"), [{ path: "profile", title: "Profile" }]),
];
