// Every page of the dashboard, in menu order. A page: {path ("goals", "sessions/:id"),
// title, nav (in the menu), public (signed-out only), roles (any of), render(view, ctx)}.
// render may return a cleanup function, run when the user leaves the page.
import { pages as auth } from "./auth.js";
import { pages as goals } from "./goals.js";
import { pages as workouts } from "./workouts.js";
import { pages as live } from "./live.js";
import { pages as health } from "./health.js";
import { pages as motion } from "./motion.js";
import { pages as watchLogs } from "./watch_logs.js";
import { pages as operations } from "./operations.js";
import { pages as profile } from "./profile.js";

export const PAGES = [...auth, ...goals, ...workouts, ...live, ...health, ...motion, ...watchLogs, ...operations, ...profile];
