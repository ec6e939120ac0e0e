"""The most aigate reads of any one input (a file, a process's output): anything larger is refused, not truncated.
A module of its own so that what the command imports first (`aigate.sources._git`) imports nothing else."""

# Generous for a PR (a 1,000,000-line diff is ~60 MiB).
MAX_INPUT_BYTES = 256 << 20
