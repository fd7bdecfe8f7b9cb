"""The `bench` command: host and adb device latency, statistics, and its report."""
