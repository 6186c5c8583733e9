// Socket.IO peer for bench/fanout/: rooms shared across servers by @socket.io/redis-adapter.
//
//   node server.js PORT REDIS_URL      (or PORT / REDIS_URL in the environment)
//
// A client joins the room named by its ?room= query on connect; a "chat" event it sends
// is broadcast to everyone else in that room, on every server, through Redis pub/sub.
// Socket.IO's defaults are kept: perMessageDeflate is off, pingInterval 25 s,
// pingTimeout 20 s, no connection-state recovery.
//
// GET /stats reports what the server holds for its slowest client (the bench's stalled one):
// packets queued in Engine.IO's write buffer and bytes buffered by the ws socket.
"use strict";

const { createServer } = require("node:http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

// A client leaving, or the bench closing thousands at once (a ping may meet a closed socket:
// "transport error") or stopping us: expected, not worth a line each; losses are counted by
// the receivers.
const ORDINARY_ENDS = new Set([
  "transport close",
  "transport error",
  "client namespace disconnect",
  "server shutting down",
]);
const port = Number(process.argv[2] || process.env.PORT);
const redisUrl = process.argv[3] || process.env.REDIS_URL || "redis://127.0.0.1:6379/0";

async function main() {
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);

  const httpServer = createServer((request, response) => {
    if (request.url !== "/stats") return;
    response.setHeader("Content-Type", "application/json");
    response.end(JSON.stringify(stats(io)));
  });
  const io = new Server(httpServer, { adapter: createAdapter(pubClient, subClient) });
  io.on("connection", (socket) => {
    const room = String(socket.handshake.query.room || "bench");
    const joinedAt = Date.now();
    socket.join(room);
    socket.on("chat", (payload) => socket.to(room).emit("chat", payload));
    socket.on("disconnect", (reason) => {
      // Only the unusual ends are worth a line: a client going away is the normal one.
      if (ORDINARY_ENDS.has(reason)) return;
      const seconds = ((Date.now() - joinedAt) / 1000).toFixed(1);
      console.log(`disconnected after ${seconds} s: ${reason}`);
    });
  });

  httpServer.listen(port, "127.0.0.1", () => {
    console.log(`socket.io peer ready on 127.0.0.1:${port} (redis ${redisUrl})`);
  });
  const stop = () => {
    io.close();
    Promise.allSettled([pubClient.quit(), subClient.quit()]).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

// The client holding the most: Engine.IO packets not yet handed to ws, and ws's own backlog.
function stats(io) {
  let queuedPackets = 0;
  let bufferedBytes = 0;
  for (const conn of Object.values(io.engine.clients)) {
    queuedPackets = Math.max(queuedPackets, conn.writeBuffer.length);
    const ws = conn.transport && conn.transport.socket;
    bufferedBytes = Math.max(bufferedBytes, (ws && ws.bufferedAmount) || 0);
  }
  const rssMiB = Math.round(process.memoryUsage().rss / 1048576);
  const sockets = io.of("/").sockets.size;
  return { clients: io.engine.clientsCount, sockets, queuedPackets, bufferedBytes, rssMiB };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
