"""The substring search index: database objects the models do not describe.

Search is a case-insensitive substring of a reward's name, brand or description
(``reward.search_text``, already lower-case). A plain ``LIKE '%term%'`` scans every reward:
~118 ms a page at 50,000 rewards. Each backend indexes trigrams instead:

* **SQLite**: an FTS5 table with the trigram tokenizer (`SEARCH_TABLE`), kept in step with
  ``reward`` by triggers. Its rows are keyed through `KEY_TABLE` (an ``INTEGER PRIMARY KEY``
  per reward: stable, where ``reward``'s own rowid may change on ``VACUUM``). FTS5 answers
  ``GLOB`` from the index (and ``LIKE`` only without ``ESCAPE``), so a term is matched with a
  GLOB pattern whose ``*``, ``?`` and ``[`` are bracketed; terms under three characters have
  no trigram and are matched with the plain ``LIKE``.
* **PostgreSQL**: ``pg_trgm``'s GIN index on ``search_text`` serves the same ``LIKE``.

`UNMODELLED` lists what the models leave out, so migration checks ignore it.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "KEY_TABLE",
    "MIN_INDEXED",
    "PG_INDEX",
    "SEARCH_TABLE",
    "SQLITE_MATCHES",
    "UNMODELLED",
    "glob_pattern",
    "sqlite_ddl",
]

SEARCH_TABLE: Final = "reward_search"
KEY_TABLE: Final = "reward_search_key"
PG_INDEX: Final = "ix_reward_search_text_trgm"
MIN_INDEXED: Final = 3  # a trigram needs three characters
# The FTS5 table's shadow tables come with it.
UNMODELLED: Final = frozenset(
    {
        SEARCH_TABLE,
        KEY_TABLE,
        *(f"{SEARCH_TABLE}_{shadow}" for shadow in ("data", "idx", "content", "docsize", "config")),
        PG_INDEX,
    }
)


def glob_pattern(term: str) -> str:
    """``*term*`` for GLOB, the term's own ``*``, ``?`` and ``[`` matched literally."""
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in term.lower())
    return f"*{escaped}*"


def sqlite_ddl() -> list[str]:
    """The SQLite index, its triggers, and what fills it from the rewards already there."""
    return [
        "CREATE TABLE reward_search_key (rowid INTEGER PRIMARY KEY, reward_id CHAR(32) NOT NULL "
        "UNIQUE REFERENCES reward (id))",
        "CREATE VIRTUAL TABLE reward_search USING fts5(search_text, tokenize='trigram')",
        """CREATE TRIGGER reward_search_insert AFTER INSERT ON reward BEGIN
            INSERT INTO reward_search_key (reward_id) VALUES (new.id);
            INSERT INTO reward_search (rowid, search_text)
                VALUES (last_insert_rowid(), new.search_text);
        END""",
        """CREATE TRIGGER reward_search_update AFTER UPDATE OF search_text ON reward BEGIN
            UPDATE reward_search SET search_text = new.search_text
                WHERE rowid = (SELECT rowid FROM reward_search_key WHERE reward_id = new.id);
        END""",
        """CREATE TRIGGER reward_search_delete AFTER DELETE ON reward BEGIN
            DELETE FROM reward_search
                WHERE rowid = (SELECT rowid FROM reward_search_key WHERE reward_id = old.id);
            DELETE FROM reward_search_key WHERE reward_id = old.id;
        END""",
        "INSERT INTO reward_search_key (reward_id) SELECT id FROM reward",
        "INSERT INTO reward_search (rowid, search_text) SELECT k.rowid, r.search_text "
        "FROM reward_search_key k JOIN reward r ON r.id = k.reward_id",
    ]


# The subquery a SQLite page filters by (its parameter: `glob_pattern` of the term).
SQLITE_MATCHES = (
    "SELECT reward_id FROM reward_search_key WHERE rowid IN "
    "(SELECT rowid FROM reward_search WHERE search_text GLOB :search_glob)"
)
