"""The shards of one split of an export: ``data/{split}-NNNNN-of-MMMMM.{parquet,jsonl}``.

Rows are buffered ``batch_size`` at a time; Parquet writes each buffer as one record batch
(one row group, zstd), JSON Lines as lines. A shard is closed once it holds
``max_shard_bytes`` of data (Arrow's in-memory size for Parquet, UTF-8 bytes for JSON Lines)
and the next rows go to a new one. Shards are written as ``{split}-NNNNN.part`` and renamed
to ``-of-MMMMM`` when the split is complete, since the count is only known then. A split
without rows still gets one (empty) shard.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


@dataclass
class Limits:
    """Rows per buffer (row group), bytes per shard, and who to tell when a file is done."""

    batch_size: int
    max_shard_bytes: int
    finished: Callable[[str], None]


class _Shard(Protocol):
    bytes: int

    def write(self, rows: list[dict[str, Any]]) -> None: ...
    def close(self) -> None: ...


def _json_value(value: object) -> str:
    """JSON encoding of what JSON lacks: bytes as base64, times as ISO-8601."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class _JsonlShard:
    def __init__(self, path: Path, schema: Any) -> None:
        self.file = path.open("w", encoding="utf-8", newline="\n")
        self.bytes = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            line = json.dumps(row, ensure_ascii=False, default=_json_value) + "\n"
            self.file.write(line)
            self.bytes += len(line.encode())

    def close(self) -> None:
        self.file.close()


class _ParquetShard:
    def __init__(self, path: Path, schema: Any) -> None:
        import pyarrow.parquet as pq

        self.schema = schema
        self.writer = pq.ParquetWriter(str(path), schema, compression="zstd")
        self.bytes = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa

        batch = pa.RecordBatch.from_pylist(rows, schema=self.schema)
        self.writer.write_batch(batch)  # one row group
        self.bytes += batch.nbytes

    def close(self) -> None:
        self.writer.close()


class SplitWriter:
    """The shards of one split: ``{split}-NNNNN.part`` in turn, named ``-of-MMMMM`` at the end."""

    def __init__(self, folder: Path, name: str, fmt: str, schema: Any, limits: Limits) -> None:
        self.folder, self.name, self.fmt = folder, name, fmt
        self.schema, self.limits = schema, limits
        self.parts: list[Path] = []
        self.shard: _Shard | None = None
        self.rows: list[dict[str, Any]] = []

    def write(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.limits.batch_size:
            self._flush()

    def _flush(self) -> None:
        if self.shard is None:
            path = self.folder / f"{self.name}-{len(self.parts):05d}.part"
            self.parts.append(path)
            opener = _ParquetShard if self.fmt == "parquet" else _JsonlShard
            self.shard = opener(path, self.schema)
        if self.rows:
            self.shard.write(self.rows)
            self.rows = []
        if self.shard.bytes >= self.limits.max_shard_bytes:
            self._close_shard()

    def _close_shard(self) -> None:
        if self.shard is not None:
            self.shard.close()
            self.shard = None
            self.limits.finished(self.parts[-1].name)

    def close(self) -> list[Path]:
        """Finish every shard (an empty one if the split has no rows); return the final paths."""
        if self.rows or not self.parts:
            self._flush()
        self._close_shard()
        total = len(self.parts)
        final = []
        for index, part in enumerate(self.parts):
            target = part.with_name(f"{self.name}-{index:05d}-of-{total:05d}.{self.fmt}")
            part.rename(target)
            final.append(target)
        return final

    def abandon(self) -> None:
        if self.shard is not None:
            with contextlib.suppress(Exception):
                self.shard.close()
