"""Progress bars for terminals only."""
from tqdm import tqdm


def progress_bar(total: int, desc: str, unit: str, enabled: bool = True) -> tqdm:
    """A transient ``tqdm`` bar, drawn only when ``enabled`` and standard error is a terminal.

    Output piped or redirected to a file gets no bar (tqdm's ``disable=None``), so a log holds the run's own
    lines (one per epoch, the evaluation summary) instead of every refresh of the bar.
    """
    return tqdm(total=total, desc=desc, unit=unit, disable=None if enabled else True, leave=False)
