"""SIGTERM as Ctrl-C: what a job scheduler sends before its SIGKILL, turned into the ``KeyboardInterrupt`` every
command already handles (the training loop saves its weights, the launcher stops its processes)."""


def interrupt(signum, frame):
    """A ``signal.signal`` handler raising ``KeyboardInterrupt("SIGTERM")`` in the main thread."""
    raise KeyboardInterrupt("SIGTERM")
