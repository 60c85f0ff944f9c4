"""A document that appears twice in one file: found in bounded memory on PostgreSQL.

Each invoice's unique key (direction, party, type, serie, número as one integer, see
parties.document_key_part) is checked against the keys of the rows before it. On SQLite the
keys are kept in a set (about 70 bytes a row: fine for the files SQLite is used with). A team
database takes files of ten million rows, where that set alone would be 700 MB, so there a
Bloom filter (numpy bit arrays, about 4 bytes a row) answers "maybe seen" or "certainly not";
the few "maybe" rows are kept with their cells and checked exactly against the staging table
before anything moves into `invoice` (`Repeats.confirm`): every row of the file still
reaches the staging table, and a repeat is rejected with the same error either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_HASHES = 7  # bits per key; with a layer filled to 1/26 of its bits, a false "maybe" is ~4e-5
_FIRST_LAYER_BITS = 1 << 22  # 512 KiB; each later layer 4x the one before
_KEYS_PER_BIT = 26

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: Python's int hash of near keys are near numbers; the bits must not be."""
    x = values.copy()
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


class KeyFilter:
    """Which keys of a chunk may have been seen before (in earlier chunks or earlier in the same
    chunk): no false "no", rare false "maybe". Grows by layers, so memory follows the file."""

    def __init__(self) -> None:
        self.layers: list[tuple[np.ndarray, int]] = []  # (bits as uint8 array, keys it holds)

    def suspects(self, keys: list[int]) -> np.ndarray:
        """A bool per key: True where it may repeat an earlier key; every key is added."""
        if not keys:
            return np.zeros(0, dtype=bool)
        hashes = _mix(np.fromiter((hash(k) for k in keys), dtype=np.int64, count=len(keys)).view(np.uint64))
        maybe = np.zeros(len(keys), dtype=bool)
        # earlier in this very chunk: equal hashes (equal keys, or a collision the check sorts out)
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        repeated = np.zeros(len(keys), dtype=bool)
        repeated[1:] = ordered[1:] == ordered[:-1]
        maybe[order[repeated]] = True
        positions = self._positions(hashes)
        for bits, _ in self.layers:
            mask = np.uint64(bits.size * 8 - 1)
            at = positions & mask
            present = (bits[(at >> np.uint64(3)).astype(np.intp)] >> (at & np.uint64(7)).astype(np.uint8)) & 1
            maybe |= present.all(axis=1).astype(bool)
        self._add(positions)
        return maybe

    @staticmethod
    def _positions(hashes: np.ndarray) -> np.ndarray:
        """_HASHES bit positions per key by double hashing (before the mask of each layer)."""
        low = hashes & np.uint64(0xFFFFFFFF)
        high = (hashes >> np.uint64(32)) | np.uint64(1)
        steps = np.arange(_HASHES, dtype=np.uint64)
        return low[:, None] + steps[None, :] * high[:, None]

    def _add(self, positions: np.ndarray) -> None:
        if not self.layers or self.layers[-1][1] + len(positions) > self.layers[-1][0].size * 8 // _KEYS_PER_BIT:
            size = _FIRST_LAYER_BITS if not self.layers else self.layers[-1][0].size * 8 * 4
            self.layers.append((np.zeros(size // 8, dtype=np.uint8), 0))
        bits, count = self.layers[-1]
        at = (positions & np.uint64(bits.size * 8 - 1)).ravel()
        np.bitwise_or.at(bits, (at >> np.uint64(3)).astype(np.intp),
                         (np.uint8(1) << (at & np.uint64(7)).astype(np.uint8)))
        self.layers[-1] = (bits, count + len(positions))

    @property
    def nbytes(self) -> int:
        return sum(bits.nbytes for bits, _ in self.layers)


class Repeats:
    """The "maybe" rows of a file on PostgreSQL, checked once against the staging table."""

    def __init__(self) -> None:
        self.filter = KeyFilter()
        self.suspects: dict[int, tuple[tuple, tuple, list[Any]]] = {}  # row -> (stage key, record, cells)

    def check(self, rows: list[tuple[int, int, tuple, list[Any], int]]) -> None:
        """(row, party id, record, cells, key) of a chunk: remembers the rows that may repeat."""
        flags = self.filter.suspects([r[4] for r in rows])
        for (row_no, party_id, rec, cells, _), maybe in zip(rows, flags):
            if maybe:
                self.suspects[row_no] = ((rec[0], party_id, rec[4], rec[5], rec[6]), rec, cells)

    def confirm(self, session: Any, stage: str) -> list[tuple[int, tuple, list[Any]]]:
        """(row, record, cells) of the rows whose document appears on an earlier row of the file: found
        by joining the suspects' keys with the staging table (every row of the file is there)."""
        if not self.suspects:
            return []
        from sqlalchemy import text

        from cuentas_cli.db.engine import driver_connection

        conn = driver_connection(session)
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE cuentas_import_suspect (direction text, party_id integer, doc_type text, "
                        "serie text, numero integer) ON COMMIT DROP")
            with cur.copy("COPY cuentas_import_suspect FROM STDIN") as copy:
                for key in {suspect[0] for suspect in self.suspects.values()}:
                    copy.write_row(key)
        found = session.execute(text(
            f"SELECT s.row_no, s.direction, s.party_id, s.doc_type, s.serie, s.numero FROM {stage} s "
            "JOIN cuentas_import_suspect t USING (direction, party_id, doc_type, serie, numero) "
            "ORDER BY s.direction, s.party_id, s.doc_type, s.serie, s.numero, s.row_no")).all()
        session.execute(text("DROP TABLE cuentas_import_suspect"))
        repeats = []
        previous = None
        for row_no, *key in found:
            if key == previous:
                repeats.append((row_no, *self.suspects[row_no][1:]))  # a repeat is always a suspect
            previous = key
        return sorted(repeats, key=lambda r: r[0])
