"""gunicorn settings for the portal; every value can be overridden by the environment.

gthread workers with ONE thread each and HTTP keep-alive (bench/README.md has the numbers):
- one thread: a worker never runs two requests at once, so no request waits for the interpreter
  while its sale holds the tranche row lock (threads cost the prototype 45 % of its sales/s);
- gthread rather than sync for keep-alive: sync workers close every connection, and at 600+ sales/s
  the short-lived loopback connections filled the ephemeral port range (TIME_WAIT) and the rush
  collapsed; behind a proxy that keeps upstream connections alive the same holds.
- served on the worker's main thread (jinju_portal/gunicorn_worker.py): with one thread, gthread's
  hand-off to its pool and back cost as much as Django's middleware; and every waiting connection
  is accepted at once, so none waits behind the others' requests at a cold start;
- reuse_port: each worker gets its own listening socket and the kernel spreads new connections
  evenly; with one shared socket the 200 keep-alive connections of a rush landed 91/52/53/4 on
  four workers (one nearly idle, one with twice the queue: 744/s, p99 638 ms); with it 49/46/56/49
  (942–1,022/s, p99 344–349 ms). Caveat: connections still in a stopping worker's backlog are reset.
- workers: 4 on the 2-core benchmark machine shared with PostgreSQL and the load generator
  (3: 788/s, 4: 942–1,047/s, 6: 736/s); in general about 2 × cores, measured with bench/rush.py.
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
# gthread, but a one-thread worker serves requests on its main thread (jinju_portal/gunicorn_worker.py)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "jinju_portal.gunicorn_worker.InlineThreadWorker")
threads = int(os.environ.get("GUNICORN_THREADS", 1))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", 1000))
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1") == "1"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 20000))
max_requests_jitter = 2000
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
preload_app = True
