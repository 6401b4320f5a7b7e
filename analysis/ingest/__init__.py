"""The door: reading files, finding headers, parsing values, presets, the pipeline of checks and the row account."""
