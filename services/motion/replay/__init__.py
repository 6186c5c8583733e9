"""Replays a recorded accelerometer file through ``POST /sensor-data``, as a phone would."""
