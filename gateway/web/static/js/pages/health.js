// The Health page: intraday metrics with imputed points marked, sleep stages, day summaries.
import { renderHealth } from "./health/page.js";

// The page code by path; its menu entry (title, roles) is in pages/index.js.
export const renders = { health: renderHealth };
