"""External tasks (Camunda 7 style): steps of a process done by another system's worker, fetched by topic."""
