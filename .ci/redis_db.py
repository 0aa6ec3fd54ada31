"""Claim an empty Redis database for one CI run, and release it afterwards.

    redis_db.py claim RUN        prints the number of the database claimed
    redis_db.py release RUN N    empties database N if RUN still holds it

A database is claimed only when it is empty and our SET NX wins, so two runs
can never share one. Database 0 is left for development.
"""

from __future__ import annotations

import sys

import redis

URL = "redis://127.0.0.1:6379/{db}"
CLAIM_KEY = "catfeeder:ci:claim"
CLAIM_TTL = 3 * 3600  # seconds: longer than CI may run


def claim(run: str) -> int:
    for db in range(1, 16):
        client = redis.Redis.from_url(URL.format(db=db))
        if client.dbsize() == 0 and client.set(CLAIM_KEY, run, nx=True, ex=CLAIM_TTL):
            return db
    sys.exit("no empty Redis database (1-15) is free on 127.0.0.1:6379")


def release(run: str, db: int) -> None:
    client = redis.Redis.from_url(URL.format(db=db))
    if client.get(CLAIM_KEY) == run.encode():
        client.flushdb()


if __name__ == "__main__":
    if sys.argv[1] == "claim":
        print(claim(sys.argv[2]))
    else:
        release(sys.argv[2], int(sys.argv[3]))
