"""The ``gate`` reports: a scan compared with a baseline (``scan.baseline.GateResult``) as a table,
Markdown (a pull-request comment), ``alpinist-gate/1`` JSON and SARIF (the new findings only)."""
