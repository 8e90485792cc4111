"""The paper's experiments run from configs: Table II on any data (the demo's ``make demo``), the Table III/IV
harness, and the depth study. Each run lives in a run directory that a repeated call finishes or reuses."""
