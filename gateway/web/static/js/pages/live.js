// Live group sessions: the list (create, join) and one session's room.
import { listPage } from "./live/list.js";
import { roomPage } from "./live/room.js";

// The page code by path; its menu entry (title, roles) is in pages/index.js.
export const renders = { sessions: listPage, "sessions/:id": roomPage };
