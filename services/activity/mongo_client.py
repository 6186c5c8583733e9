"""MongoDB clients and handles with majority writes and reads, retryable writes, bounded waits."""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

Document = dict[str, Any]

# A write acknowledged by a majority survives an election; one acknowledged by the
# primary alone can be rolled back when a new primary is elected without it.
MAJORITY = WriteConcern("majority")
MAJORITY_READS = ReadConcern("majority")
# pymongo's defaults wait 30 s for a primary and forever for a majority: a worker thread
# would hang through an election or a lost majority. Finding a primary may take 2 s; the
# whole operation (selection, its one retry, the majority wait: pymongo's CSOT timeoutMS)
# 3 s, the gateway's deadline, after which nobody waits for the answer anyway.
SERVER_SELECTION_TIMEOUT_MS = 2000
OPERATION_TIMEOUT_MS = 3000


def client(url: str, timeout_ms: int = OPERATION_TIMEOUT_MS) -> MongoClient[Document]:
    """A client with majority writes and reads, retryable writes and bounded waits.

    ``timeout_ms`` bounds each operation (each batch of a cursor); a batch job reading
    large aggregations (the ETL) passes a longer one.
    """
    # Keyword options override the URL's; connect=False defers I/O to the first operation.
    return MongoClient(
        url,
        w="majority",
        readConcernLevel="majority",
        retryWrites=True,
        retryReads=True,
        serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        timeoutMS=timeout_ms,
        tz_aware=True,
        connect=False,
    )


def connect(url: str, database: str, timeout_ms: int = OPERATION_TIMEOUT_MS) -> Database[Document]:
    """A database handle with majority reads and writes, retryable writes, bounded waits."""
    handle = client(url, timeout_ms)
    return handle.get_database(database, write_concern=MAJORITY, read_concern=MAJORITY_READS)


def collection(db: Database[Document], name: str) -> Collection[Document]:
    """The named collection with majority writes and reads, on any database handle."""
    return db.get_collection(name, write_concern=MAJORITY, read_concern=MAJORITY_READS)
