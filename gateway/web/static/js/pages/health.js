// The Health page: intraday metrics with imputed points marked, sleep stages, day summaries.
import { renderHealth } from "./health/page.js";

export const pages = [{ path: "health", title: "Health", nav: true, render: renderHealth }];
