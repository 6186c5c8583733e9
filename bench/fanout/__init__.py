"""Benchmark: fan-out of one live-session event to N participants, three paths side by side.

For each N, in R alternating rounds (the order rotates each round):
  bare  - a bare websockets server relays each message with broadcast() (bench.broadcast_server)
  peer  - what a user would pick instead of our gateway: Socket.IO 4.8 on Node 20 with
          @socket.io/redis-adapter (bench/socketio_peer): server 1 -> Redis -> server 2
  ours  - the real path: gateway 1 -> Redis (Lua append + pub/sub) -> gateway 2
In every path the sender is on server 1 (bare: the one server), the N receivers and one
deliberately stalled client (joined, never reads, 2 KiB receive buffer) on server 2; the
receivers (and senders) are bench.fanout.lightsocket's clients on uvloop: one asyncio.Protocol
per connection that parses frames as bytes arrive, no task per receiver, cheap enough that the
servers, not the receiving process, set the pace; no per-message deflate, off on every
server too. The sender sends 20 events 100 ms apart (latency) then a burst of K (throughput),
each carrying its send time. Reported: p50/p99 event-to-client latency, deliveries/s, lost
deliveries, and server 2's memory per idle connection (RSS growth / N once joins settle; every
measurement gets a fresh server 2, since a warm one reuses memory freed by the last round);
the median of the rounds and each round. The platform and its Redis (which the Socket.IO
servers share) start once per run.

    python -m bench.fanout [--participants 1000 5000] [--events 50] [--rounds 2]
"""
