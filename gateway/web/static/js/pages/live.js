// Live group sessions: the list (create, join) and one session's room.
import { listPage } from "./live/list.js";
import { roomPage } from "./live/room.js";

export const pages = [
  { path: "sessions", title: "Live sessions", nav: true, render: listPage },
  { path: "sessions/:id", title: "Live session", nav: false, render: roomPage },
];
