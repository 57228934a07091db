"""Many `animate` runs from one JSON-lines file, in one process or shared between processes.

`jobs` reads and checks the JOBS file, `manifest` keeps each job's state in the output folder,
`runner` runs the jobs that need it (each process its share, under `accelerate launch`).
"""
