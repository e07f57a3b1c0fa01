"""The saga benchmark: calibrate the machine's limits, load it, measure, and compare."""
