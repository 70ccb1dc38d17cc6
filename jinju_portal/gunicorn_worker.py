"""gunicorn's gthread worker for `threads = 1`: requests are handled on the worker's main thread.

With one thread, gthread hands every request from its event loop to a one-thread pool and back:
a Future, a done-callback, a byte through a pipe to wake the loop, and two thread switches per
request. py-spy of a rush put that loop at about as much worker CPU as Django's whole middleware
stack (bench/README.md). Running `handle` inline does the same work in the same order — one request
at a time, as with one pool thread — without the hand-offs. With more threads this is plain
gthread.

New connections are accepted as soon as they arrive and wait in the event loop for their first
request like kept-alive ones (gthread would queue them in its pool): served inline one by one, a
connection accepted only after the previous one's request waited behind every earlier connection's
requests — at a rush's start the last of ~50 connections per worker waited seconds. A new
connection that sends nothing is closed after `keepalive` seconds.

One difference: the main thread now also runs the request, so gunicorn's `timeout` (no heartbeat
for that long → the arbiter restarts the worker) covers a request's own duration, as with sync
workers; `deploy/gunicorn.conf.py` keeps it at 30 s.
"""
import errno
import selectors
import time
from collections import deque
from concurrent.futures import Future
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker


class InlineThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._inline_queue = None  # connections to serve; not None while serving them

    def accept(self, listener):
        if self.cfg.threads != 1:
            return super().accept(listener)
        while self.nr_conns < self.worker_connections:  # the listener is non-blocking: take all waiting
            try:
                client_sock, client_addr = listener.accept()
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                    raise
                return
            self.nr_conns += 1
            conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking
            conn.timeout = time.monotonic() + self.cfg.keepalive
            self.pending_conns.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def enqueue_req(self, conn):
        if self.cfg.threads != 1:
            return super().enqueue_req(conn)
        if self._inline_queue is not None:  # finish_request re-enqueued a read-ahead request
            self._inline_queue.append(conn)
            return
        self._inline_queue = deque([conn])
        try:
            while self._inline_queue:
                current = self._inline_queue.popleft()
                done = Future()
                try:
                    done.set_result(self.handle(current))
                except BaseException as exc:  # handle() catches what a request raises; be safe anyway
                    done.set_exception(exc)
                self.finish_request(current, done)
        finally:
            self._inline_queue = None
