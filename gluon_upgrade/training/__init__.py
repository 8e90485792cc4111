"""Training: the paper's schedules, the optimizer, detector losses, the crash-safe run loop, distribution."""
