"""The staff web console (FastAPI + server-rendered Jinja2). Part of the composition root: it wires services from
every layer into pages, the way the CLI wires them into commands."""
