"""The motion processor: workers that hold partitions by lease, window and classify each
device's readings, and write the records, the processed stream and the current state."""
