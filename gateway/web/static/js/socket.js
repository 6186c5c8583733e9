// A WebSocket to the gateway that reconnects after a drop. Browsers cannot set headers on
// a WebSocket, so the token travels as the "bearer, <token>" subprotocol pair.
import * as session from "./session.js";
import { refresh } from "./api.js";

const MAX_BACKOFF_MS = 10000;
// Handshakes in a row that never opened before giving up: a refused one (a deleted
// account) reaches a browser only as 1006, like a gateway that is restarting.
const MAX_FAILED_HANDSHAKES = 8;

/**
 * Open ``path`` and keep it open until close() is called.
 * handlers: onOpen(socket, reconnected), onMessage(frame), onState(text) for people
 * ("connected", "reconnecting…"), onClose(event) when it will not reconnect.
 */
export function liveSocket(path, { onOpen, onMessage, onState, onClose } = {}) {
  let socket = null;
  let stopped = false;
  let attempts = 0;
  let failedHandshakes = 0;
  let timer = null;
  const connect = async () => {
    if (stopped) return;
    // A handshake refused for an expired token reaches a browser only as close 1006, so
    // renew a token that is about to expire before (re)connecting.
    if ((session.current()?.expiresAt ?? 0) < Date.now() + 30000) {
      const outcome = await refresh();
      if (stopped) return; // closed while the refresh ran
      if (outcome === "refused") return onClose?.({ code: 1008, reason: "signed out" });
      if (outcome === "unreachable") return retry();
    }
    const token = session.current()?.token;
    if (!token) return onClose?.({ code: 1008, reason: "signed out" });
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    socket = new WebSocket(url, ["bearer", token]);
    socket.onopen = () => {
      if (stopped) return socket.close(1000);
      onState?.("connected");
      onOpen?.(socket, attempts > 0);
      attempts = 0;
    };
    socket.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      onMessage?.(frame);
    };
    let opened = false;
    socket.addEventListener("open", () => (opened = true));
    socket.onclose = async (event) => {
      if (stopped) return;
      failedHandshakes = opened ? 0 : failedHandshakes + 1;
      if (failedHandshakes >= MAX_FAILED_HANDSHAKES) return onClose?.({ code: 1006, reason: "cannot connect" });
      // 1008 is a policy refusal: an expired token is worth one refresh, the rest final.
      if (event.code === 1008 && !/token/.test(event.reason)) return onClose?.(event);
      if (event.code === 1008 && (await refresh()) === "refused") return onClose?.(event);
      retry();
    };
  };
  const retry = () => {
    if (stopped) return;
    attempts += 1;
    onState?.("reconnecting…");
    const backoff = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempts) * (0.5 + Math.random() / 2);
    timer = setTimeout(connect, backoff);
  };
  connect();
  return {
    send(frame) {
      if (socket?.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(frame));
      return true;
    },
    close() {
      stopped = true;
      clearTimeout(timer);
      socket?.close(1000);
    },
    get socket() {
      return socket;
    },
  };
}
