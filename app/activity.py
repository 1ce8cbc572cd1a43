"""How busy this server process is: the requests it is serving and when it last finished one.

Background work a server does itself (processing the webhooks it stored: tens of milliseconds of
Python each, under the process's one GIL) waits until the process has been quiet for a moment, so
agents' pages, claims and webhook intake get the process first; `huitou dispatch`, a process of
its own at a lower CPU priority, does that work meanwhile. RequestContextMiddleware (app/main.py)
counts the requests; it runs on the event loop, the only thread that writes here.
"""

from __future__ import annotations

import time


class Activity:
    def __init__(self) -> None:
        self.in_flight = 0
        self.last_finished = 0.0  # time.monotonic()

    def begin(self) -> None:
        self.in_flight += 1

    def end(self) -> None:
        self.in_flight -= 1
        self.last_finished = time.monotonic()

    def quiet(self, seconds: float) -> bool:
        """No request in flight, and none finished within `seconds`."""
        return self.in_flight <= 0 and time.monotonic() - self.last_finished >= seconds


requests = Activity()  # this process's
