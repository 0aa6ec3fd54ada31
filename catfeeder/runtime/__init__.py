"""The runtime: what runs the project's processes.

`manage.py serve` (serve.py) starts web, worker, beat and the embedded Redis
under a small supervisor (supervisor.py); the web process (webserver.py) is
uvicorn with the request-head limits (uvicorn_head.py) serving the project
wrapped in the instance middleware (middleware.py: correlation ids, request
logs, sockets, drain); logs.py sets logging up for every process and heap.py
tunes the garbage collector. apps.ops keeps status, health, metrics and
controls.
"""
