// The Motion page: the seed 003 dashboard's panels for one phone, updated live.
import { renderMotion } from "./motion/page.js";

export const pages = [{ path: "motion", title: "Motion", nav: true, render: renderMotion }];
