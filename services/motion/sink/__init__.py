"""The warehouse sinks of the motion system: ``python -m services.motion.sink``.

rows.py      stream entries -> warehouse rows (pure), the two sinks (raw, processed)
worker.py    the consumer groups' loop: read, insert once, ack after the commit
metrics.py   rows per table, entries by outcome, lag and pending per sink
__main__.py  settings (MOTION_SINK_*), JSON logs, metrics port, graceful SIGTERM
The tables and their inserts are services/motion/warehouse.py.
"""
