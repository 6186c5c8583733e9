"""Benchmark: the motion processor's throughput and the latency of POST /sensor-data to state.

throughput - raw entries of D devices (--per-message readings, 1 s of 50 Hz) are written to a real
             Redis; one processor worker (the real Worker over the real Redis adapter)
             reads, windows, classifies and writes every window. Baseline, in the same
             run: in-process numpy windowing of the same readings (the same windows
             sliced with searchsorted from one array per session, the same classifier),
             no Redis. Reported: readings/s of each and their ratio (target >= 0.4).
latency    - the launcher's platform (gateway, motion service, processor, Redis on
             loopback); 200 devices post 50 Hz of readings in real time, one message a
             device every --interval s. For each message: from its POST to the first
             record whose window holds its last reading appearing on the processed stream
             (written by the same script as the state). Target: p99 <= window length
             + 500 ms. Also reported: from the POST that closes a window (its readings
             pass the window's end plus the grace) to that window's record.

    python -m bench.motion [--devices 200] [--seconds 20] [--interval 0.5] [--rounds 3]
"""
