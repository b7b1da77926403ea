"""`lint-eps verify`: run flagged functions on edge-case tensors in a worker process and report what breaks.

Nothing here is imported by the static linter. The parent side (`command`, `targets`, `usage`, `remap`,
`supervisor`, `report`) never imports a framework or the user's code; `worker`, `checks`, `inputs`, `kinds`,
`given`, `search`, `setting` and `probes` run in the child process.
"""
