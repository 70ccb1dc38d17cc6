"""The one home of raw SQL in vouchers: measured hot paths only (bench/rush.py), each with an ORM
twin in vouchers/services/ and rule tests run on both paths (tests/vouchers/test_purchase_rules.py:
"sql" prepared, "sql-unprepared" and "orm").

- `sql`: the one-statement sale and web reservation, and its pgbench twin.
- `session`: how a Django connection runs it (prepared per session, replanning, health checks).
- `fraud`: the nightly cash-out scan's set-based SQL over a month (bench/fraud.py); no ORM twin:
  it is a batch read, not a write path, and its rule tests (tests/vouchers/test_fraud.py) run on it.
"""
