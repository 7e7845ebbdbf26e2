"""The coordinator's sagas as its last batches decided them.

A coordinator replica owns its partitions, so the sagas it works on change almost only
through its own batches: it can keep them, and an optimistic batch whose sagas are all
here (or are starting) skips its load round trip. An entry is never trusted blindly:
the batch's write plan still finds every saga at the version the entry has (an update
expects it, an unchanged saga is held at it), so an entry made stale by a timer, an
operator or another replica after a rebalance turns into a conflict, and the batch runs
again in a transaction block, which loads from the table and forgets the entries.

A batch keeps what it decided before its statement commits (the pipelined consumer
decides the next batch meanwhile, on top of it) and takes it back if the statement does
not commit (``WritePlan.if_abandoned``). Sagas are immutable, so an entry is shared,
never copied. Finished sagas stay too (a
shipment's dispatch and delivery still come to a completed one); the least recently
kept go first past ``size``. The deadline timer forgets the sagas it fires.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from orders.saga.state import Saga


class SagaCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._sagas: OrderedDict[str, Saga] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sagas)

    def get(self, order_id: str) -> Saga | None:
        return self._sagas.get(order_id)

    def keep(self, sagas: Iterable[Saga]) -> None:
        """What a batch committed, kept as the newest."""
        for saga in sagas:
            self._sagas[saga.order_id] = saga
            self._sagas.move_to_end(saga.order_id)
        while len(self._sagas) > self.size:
            self._sagas.popitem(last=False)

    def forget(self, order_ids: Iterable[str]) -> None:
        for order_id in order_ids:
            self._sagas.pop(order_id, None)
