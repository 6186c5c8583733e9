// The Motion page: the seed 003 dashboard's panels for one phone, updated live.
import { renderMotion } from "./motion/page.js";

// The page code by path; its menu entry (title, roles) is in pages/index.js.
export const renders = { motion: renderMotion };
