"""At most N calls of one unary gRPC method in flight; the rest wait here, in order.

A gRPC server cancels a call that waits unrequested in its queue longer than 30 s
(`grpc.server_max_unrequested_time_in_server`): a burst of a thousand Analyze calls on a busy machine reaches
that, and the pack's answer is then CANCELLED. Calls held here never start that clock.
"""

from __future__ import annotations

import collections
import threading
from concurrent.futures import Future
from functools import partial
from typing import Any


class CallWindow:
    """`submit(request)` returns a Future of the response; at most `limit` requests are sent and unanswered."""

    def __init__(self, method: Any, limit: int):
        if limit < 1:
            raise ValueError(f"a call window needs room for at least one call, not {limit}")
        self._method, self._limit = method, limit
        self._lock = threading.Lock()
        self._waiting: collections.deque[tuple[Any, Future]] = collections.deque()
        self._in_flight = 0
        self._sending = threading.local()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def submit(self, request: Any) -> Future:
        answer: Future = Future()
        with self._lock:
            self._waiting.append((request, answer))
        self._send_while_there_is_room()
        return answer

    def _send_while_there_is_room(self) -> None:
        # A call that is answered at once runs its callback in this thread: the loop below sends the next one,
        # instead of a recursion as deep as the queue.
        if getattr(self._sending, "active", False):
            return
        self._sending.active = True
        try:
            while True:
                with self._lock:
                    if self._in_flight >= self._limit or not self._waiting:
                        return
                    request, answer = self._waiting.popleft()
                    self._in_flight += 1
                try:
                    call = self._method.future(request)
                except Exception as err:  # a closed channel refuses new calls: the caller sees why
                    self._finished(answer, err)
                    continue
                call.add_done_callback(partial(self._answered, answer))
        finally:
            self._sending.active = False

    def _answered(self, answer: Future, call: Any) -> None:
        try:
            response = call.result()
        except Exception as err:  # grpc.RpcError (the status the caller reports) or a cancelled future
            self._finished(answer, err)
        else:
            self._finished(answer, None, response)
        self._send_while_there_is_room()

    def _finished(self, answer: Future, error: BaseException | None, response: Any = None) -> None:
        with self._lock:
            self._in_flight -= 1
        if error is None:
            answer.set_result(response)
        else:
            answer.set_exception(error)
