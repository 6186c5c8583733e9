"""Command-line clients of the gateway's watch-log routes: the simulated fleet and reporting."""
