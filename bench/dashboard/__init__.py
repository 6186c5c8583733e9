"""The dashboard in a real browser: first render, bytes of the first page, live latency.

``python -m bench.dashboard`` starts the launcher's platform on free loopback ports (or
uses ``--url``), drives Debian's Chromium through Playwright, and prints three tables:

- first render: a signed-in user with a few goals opens /app/goals in a fresh browser
  context (cold cache, new connections); navigation start to the "page-rendered" mark of
  js/app.js, DOMContentLoaded and load; against the same browser loading /health/live;
- bytes: the transfer sizes of that first load (PerformanceResourceTiming, navigation
  entry included: compressed bodies plus headers), and its biggest files;
- live: a chat message sent by a Python client to a live session open in the page,
  time.time() before the send to the MutationObserver seeing its text; against a second
  Python client receiving the same message through the gateway.

Targets (issue 16) are reported, not asserted: render ≤ 1 s, ≤ 300 KB, live ≤ 200 ms.
"""
