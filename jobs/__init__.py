"""dqloop's edges: argument parsing, Spark sessions, reading inputs and writing outputs.

`dqloop <command>` (jobs.cli) and `spark-submit jobs/<command>.py` take the same arguments.
"""
