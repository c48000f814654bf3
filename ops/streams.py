"""Read a Kinesis stream from a point in time on, shard by shard, within Kinesis' read limits."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import ClientError

from ops.aws import error_code

# GetRecords allows 5 calls per second per shard; stay under it.
MIN_CALL_INTERVAL = 0.25
MAX_CALLS_PER_POLL = 20
RECORDS_PER_CALL = 1000


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    last_sequence: str | None = None
    last_call: float = 0.0


class StreamReader:
    """Every record that arrived on `stream` since `since`, handed out once as polls find it.

    Each poll lists the shards (so shards created by resharding are picked up), starts new ones `AT_TIMESTAMP`,
    and reads each shard until it has caught up (`MillisBehindLatest` 0) or used its call budget.
    """

    def __init__(
        self,
        kinesis,
        stream: str,
        since: datetime,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.kinesis, self.stream, self.since = kinesis, stream, since
        self.sleep, self.clock = sleep, clock
        self.shards: dict[str, _Shard] = {}
        self.records_read = 0

    def _list_shards(self) -> list[str]:
        ids, token = [], None
        while True:
            response = (
                self.kinesis.list_shards(NextToken=token) if token else self.kinesis.list_shards(StreamName=self.stream)
            )
            ids.extend(shard["ShardId"] for shard in response["Shards"])
            token = response.get("NextToken")
            if not token:
                return ids

    def _iterator(self, shard_id: str, after: str | None = None) -> str | None:
        if after:
            kwargs = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
        else:
            kwargs = {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": self.since}
        return self.kinesis.get_shard_iterator(StreamName=self.stream, ShardId=shard_id, **kwargs).get("ShardIterator")

    def _throttle(self, shard: _Shard) -> None:
        wait = shard.last_call + MIN_CALL_INTERVAL - self.clock()
        if wait > 0:
            self.sleep(wait)
        shard.last_call = self.clock()

    def poll(self) -> list[bytes]:
        for shard_id in self._list_shards():
            if shard_id not in self.shards:
                self.shards[shard_id] = _Shard(shard_id, self._iterator(shard_id))
        found: list[bytes] = []
        for shard in self.shards.values():
            found.extend(self._read_shard(shard))
        self.records_read += len(found)
        return found

    def _read_shard(self, shard: _Shard) -> list[bytes]:
        found: list[bytes] = []
        for _ in range(MAX_CALLS_PER_POLL):
            if shard.iterator is None:  # a closed shard read to its end
                break
            self._throttle(shard)
            try:
                response = self.kinesis.get_records(ShardIterator=shard.iterator, Limit=RECORDS_PER_CALL)
            except ClientError as err:
                code = error_code(err)
                if code == "ExpiredIteratorException":
                    shard.iterator = self._iterator(shard.shard_id, after=shard.last_sequence)
                    continue
                if code == "ProvisionedThroughputExceededException":
                    break  # someone else is reading too; try again next poll
                raise
            shard.iterator = response.get("NextShardIterator")
            records = response.get("Records", [])
            found.extend(record["Data"] for record in records)
            if records:
                shard.last_sequence = records[-1]["SequenceNumber"]
            if response.get("MillisBehindLatest", 0) == 0:  # caught up with the tip of the shard
                break
        return found
