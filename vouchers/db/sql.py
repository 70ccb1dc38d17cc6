"""The purchase as ONE PostgreSQL statement (data-modifying CTEs), used by `services.sales.purchase_vouchers`
and `services.reservations.reserve_purchase`; vouchers.db.session runs it.

Why raw SQL: under a sale-opening rush every purchase of a tranche queues on that tranche's row
lock, so the time the lock is held decides the throughput (issue 3: one statement served 2.3× the
ORM's three). Here the lock is taken by the `t` UPDATE and released by the COMMIT that follows the
statement: nothing else crosses the network while it is held.

Order inside the statement (and lock order everywhere in the app): the buyer's usage row first
(per citizen, uncontended), then the tranche row (hot), then the wallet (per citizen). Every later
step only runs if the previous one produced a row, so a refusal at the usage step never touches
the tranche. When a step refuses, the statement still completes and returns diagnostics (the
snapshot of the tranche and the buyer); the service then raises, which rolls the transaction back,
so a refusal writes nothing. The checks mirror `vouchers.rules.check_sale` exactly; that function
names the refusal. Lock order: vouchers/locks.py.

Parameters are psycopg2 pyformat (`%(name)s`); `%` itself is never used as an operator here (mod()).
"""

# -- who buys ---------------------------------------------------------------------------------------
# By CI hash (sales agents): claim the citizen row with INSERT … ON CONFLICT. DO UPDATE only when
# the request brings a birth year or name the row lacks, so a returning buyer costs no write; then
# `c` falls back to reading the existing row. (If another transaction inserted the same new buyer
# after our snapshot, `c` is empty and the service simply runs the statement again.)
CITIZEN_BY_CI = """
c_ins AS (
    INSERT INTO vouchers_citizen AS ct (ci_hash, name, birth_year, created_at)
    VALUES (%(ci)s, %(name)s, %(birth_year)s, %(now)s)
    ON CONFLICT (ci_hash) DO UPDATE
       SET name = CASE WHEN ct.name = '' THEN EXCLUDED.name ELSE ct.name END,
           birth_year = COALESCE(ct.birth_year, EXCLUDED.birth_year)
     WHERE (ct.birth_year IS NULL AND EXCLUDED.birth_year IS NOT NULL)
        OR (ct.name = '' AND EXCLUDED.name <> '')
    RETURNING ct.id, ct.birth_year
),
c AS (
    SELECT id, birth_year FROM c_ins
    UNION ALL
    SELECT id, birth_year FROM vouchers_citizen
     WHERE ci_hash = %(ci)s AND NOT EXISTS (SELECT 1 FROM c_ins)
),"""

# By id (a signed-in citizen on the web).
CITIZEN_BY_ID = """
c AS (SELECT id, birth_year FROM vouchers_citizen WHERE id = %(cid)s),"""

# -- the rules up to and including the month usage ----------------------------------------------------
RULES = """
pol AS (
    SELECT monthly_limit, paper_monthly_limit, mobile_monthly_limit, yearly_limit
      FROM vouchers_limitpolicy
     WHERE effective_from <= %(month_start)s
     ORDER BY effective_from DESC
     LIMIT 1
),
lim AS (
    SELECT * FROM pol
    UNION ALL
    SELECT %(default_limit)s::bigint, NULL::bigint, NULL::bigint, NULL::bigint
     WHERE NOT EXISTS (SELECT 1 FROM pol)
),
tr AS (
    SELECT id, medium, rotation, opens_at, closes_at, closed_at, sold, quota,
           (%(today)s::date - (opens_at AT TIME ZONE 'Asia/Seoul')::date) + 1 AS day_k
      FROM vouchers_tranche WHERE id = %(tid)s
),
-- 5부제: on day k = 1…5 of a rotation tranche only birth years ending in k or k+5 buy; a rotation
-- tranche needs the birth year on every day.
ok AS (
    SELECT c.id AS citizen_id, lim.*
      FROM c, lim, tr
     WHERE NOT tr.rotation
        OR (c.birth_year IS NOT NULL
            AND (tr.day_k > 5 OR mod(c.birth_year, 10) IN (mod(tr.day_k, 10), mod(tr.day_k + 5, 10))))
),
-- Claim the month usage: a new row copies the limits in force; an existing row moves only if it
-- stays within its own copied limits (CHECK purchased <= monthly_limit backs this up).
u AS (
    INSERT INTO vouchers_monthlyusage AS mu
           (citizen_id, month, monthly_limit, paper_limit, mobile_limit, yearly_limit,
            purchased, paper_purchased, mobile_purchased, updated_at)
    SELECT ok.citizen_id, %(month)s, ok.monthly_limit, ok.paper_monthly_limit, ok.mobile_monthly_limit,
           ok.yearly_limit, %(x)s, %(xp)s, %(xm)s, %(now)s
      FROM ok
     WHERE %(x)s <= ok.monthly_limit
       AND (ok.paper_monthly_limit IS NULL OR %(xp)s <= ok.paper_monthly_limit)
       AND (ok.mobile_monthly_limit IS NULL OR %(xm)s <= ok.mobile_monthly_limit)
       AND (ok.yearly_limit IS NULL OR %(x)s + (
                SELECT COALESCE(SUM(o.purchased), 0) FROM vouchers_monthlyusage o
                 WHERE o.citizen_id = ok.citizen_id AND o.month LIKE %(year_prefix)s AND o.month <> %(month)s
            ) <= ok.yearly_limit)
    ON CONFLICT (citizen_id, month) DO UPDATE
       SET purchased = mu.purchased + EXCLUDED.purchased,
           paper_purchased = mu.paper_purchased + EXCLUDED.paper_purchased,
           mobile_purchased = mu.mobile_purchased + EXCLUDED.mobile_purchased,
           updated_at = EXCLUDED.updated_at
     WHERE mu.purchased + EXCLUDED.purchased <= mu.monthly_limit
       AND (mu.paper_limit IS NULL OR mu.paper_purchased + EXCLUDED.paper_purchased <= mu.paper_limit)
       AND (mu.mobile_limit IS NULL OR mu.mobile_purchased + EXCLUDED.mobile_purchased <= mu.mobile_limit)
       AND (mu.yearly_limit IS NULL OR mu.purchased + EXCLUDED.purchased + (
                SELECT COALESCE(SUM(o.purchased), 0) FROM vouchers_monthlyusage o
                 WHERE o.citizen_id = mu.citizen_id AND o.month LIKE %(year_prefix)s AND o.month <> mu.month
            ) <= mu.yearly_limit)
    RETURNING mu.citizen_id, mu.purchased, mu.monthly_limit
),
-- The hot row: one conditional UPDATE (invariant 1). Only reached when the usage claim succeeded.
t AS (
    UPDATE vouchers_tranche AS t
       SET sold = t.sold + %(x)s
     WHERE t.id = %(tid)s
       AND t.medium = %(medium)s
       AND EXISTS (SELECT 1 FROM u)
       AND t.closed_at IS NULL AND t.opens_at <= %(now)s AND t.closes_at > %(now)s
       AND t.sold + %(x)s <= t.quota
    RETURNING t.id, t.discount_rate
),"""

# price = floor(face × (1 − discount)) computed from the locked row, in numeric: no float.
PURCHASE = """
p AS (
    INSERT INTO vouchers_purchase
           (channel, api_client_id, user_id, citizen_id, tranche_id, medium, face_value, price, status,
            month, idempotency_key, created_at, cancelled_at)
    SELECT %(channel)s, %(api_client_id)s::bigint, %(user_id)s::integer, u.citizen_id, t.id, %(medium)s, %(x)s,
           floor(%(x)s * (1 - t.discount_rate))::bigint, 'completed', %(month)s, %(ikey)s, %(now)s, NULL
      FROM t, u
    RETURNING id, citizen_id, price
),"""

# Mobile: credit the wallet (created on first purchase) and append the ledger line with the balance
# after it, in the same statement (invariant 3).
MOBILE_CREDIT = """
w AS (
    INSERT INTO vouchers_wallet AS w (citizen_id, balance, updated_at)
    SELECT p.citizen_id, %(x)s, %(now)s FROM p
    ON CONFLICT (citizen_id) DO UPDATE
       SET balance = w.balance + EXCLUDED.balance, updated_at = EXCLUDED.updated_at
    RETURNING w.id, w.balance
),
e AS (
    INSERT INTO vouchers_walletentry
           (wallet_id, amount, balance_after, kind, purchase_id, reference, created_at, expires_at)
    SELECT w.id, %(x)s, w.balance, 'purchase', p.id, 'purchase:' || p.id, %(now)s, %(expires)s
      FROM w, p
    RETURNING id
),"""

# Paper: every note in one INSERT from two arrays (serials are drawn in Python with `secrets`).
PAPER_NOTES = """
n AS (
    INSERT INTO vouchers_papernote
           (serial, denomination, status, purchase_id, tranche_id, issued_at, expires_at, status_changed_at)
    SELECT s.serial, s.denomination, 'issued', p.id, %(tid)s, %(now)s, %(expires)s, NULL
      FROM p, unnest(%(serials)s::varchar[], %(denoms)s::bigint[]) AS s(serial, denomination)
    RETURNING id
),"""

# With an Idempotency-Key (API sales): the stored answer is written by the same statement, into the
# shared idempotency table (jinju_portal.api.idempotency uses the same rows), so a keyed sale is still
# one autocommit statement instead of a claim, a savepoint, the sale, an update and a commit while the
# tranche row stays locked. The record goes in LAST: a concurrent replay of the same key does the
# sale's work, meets the first request's committed record here (ON CONFLICT waits for it), finds no
# row and aborts (REFUSED_MARK ":replay"), and the view answers from the record.
KEYED_ANSWER = """
k AS (
    INSERT INTO portal_idempotencyrecord (owner, "key", request_hash, created_at, status_code, response_body)
    SELECT %(io)s, %(ik)s, %(ih)s, %(now)s, 201, jsonb_build_object(
               'id', p.id, 'tranche', %(tid)s, 'medium', %(medium)s, 'face_value', %(x)s, 'price', p.price,
               'status', 'completed', 'created_at', %(created_at_text)s, 'month', %(month)s,
               'buyer_month_purchased', u.purchased, 'buyer_month_remaining', u.monthly_limit - u.purchased,
               'serials', to_jsonb(%(serials)s::varchar[]))
      FROM p, u
    ON CONFLICT (owner, "key") DO NOTHING
    RETURNING id
),"""

# Web flow: the same claims, but a held reservation instead of a purchase (payment comes later).
RESERVATION = """
p AS (
    INSERT INTO vouchers_reservation
           (citizen_id, user_id, tranche_id, medium, face_value, price, month, status, created_at,
            expires_at, payment_reference, purchase_id, finished_at)
    SELECT u.citizen_id, %(user_id)s::integer, t.id, %(medium)s, %(x)s,
           floor(%(x)s * (1 - t.discount_rate))::bigint, %(month)s, 'held', %(now)s, %(hold_until)s, '', NULL, NULL
      FROM t, u
    RETURNING id, citizen_id, price
),"""

# One row whatever happened: the outcome, and on refusal the snapshot the service names it from.
# A refusal AFTER something was written (usage claimed but the tranche refused, or a new citizen row)
# must not commit: the statement then fails on purpose with a cast error carrying REFUSED_MARK, which
# aborts it and every CTE write with it. That is what lets the sale run as a single autocommit
# statement: success costs exactly one round trip (no BEGIN, no COMMIT); only refusals pay for the
# follow-up reads that name them. (The CASE keeps the cast out of constant folding: it depends on
# the CTEs' rows, so it is evaluated only when the branch is taken.)
REFUSED_MARK = "vouchers_sale_refused_after_a_claim"
RESULT = """
done AS (SELECT 1)
SELECT p.id, p.price, u.purchased, u.monthly_limit,
       c.id, c.birth_year,
       tr.id, tr.medium, tr.rotation, tr.opens_at, tr.closes_at, tr.closed_at, tr.sold, tr.quota,
       (SELECT count(*) FROM ok) AS admitted,
       CASE WHEN p.id IS NULL AND (u.citizen_id IS NOT NULL OR __WROTE_CITIZEN__)
            THEN ('__REFUSED_MARK__:' || CASE WHEN u.citizen_id IS NOT NULL THEN 'usage' ELSE 'citizen' END)::integer
            WHEN p.id IS NOT NULL AND __KEY_TAKEN__
            THEN ('__REFUSED_MARK__:replay:' || p.id::text)::integer
       END AS refused_after_write
  FROM done
  LEFT JOIN c ON true
  LEFT JOIN tr ON true
  LEFT JOIN u ON true
  LEFT JOIN p ON true
""".replace("__REFUSED_MARK__", REFUSED_MARK)

RESULT_COLUMNS = ("purchase_id", "price", "month_purchased", "month_limit", "citizen_id", "birth_year",
                  "tranche_id", "tranche_medium", "rotation", "opens_at", "closes_at", "closed_at", "sold",
                  "quota", "admitted", "refused_after_write")


KINDS = ("purchase", "purchase_keyed", "reservation")


def build(*, by_ci: bool, kind: str, medium: str) -> str:
    """kind: "purchase", "purchase_keyed" (with the idempotent answer) or "reservation"."""
    parts = ["WITH", CITIZEN_BY_CI if by_ci else CITIZEN_BY_ID, RULES]
    if kind == "reservation":
        parts.append(RESERVATION)
    else:
        parts.append(PURCHASE)
        parts.append(MOBILE_CREDIT if medium == "mobile" else PAPER_NOTES)
        if kind == "purchase_keyed":
            parts.append(KEYED_ANSWER)
    result = RESULT.replace("__WROTE_CITIZEN__", "EXISTS (SELECT 1 FROM c_ins)" if by_ci else "false")
    result = result.replace("__KEY_TAKEN__", "NOT EXISTS (SELECT 1 FROM k)" if kind == "purchase_keyed" else "false")
    parts.append(result)
    return "\n".join(parts)


STATEMENTS = {
    (by_ci, kind, medium): build(by_ci=by_ci, kind=kind, medium=medium)
    for by_ci in (True, False) for kind in KINDS for medium in ("paper", "mobile")
}


# -- prepared statements ---------------------------------------------------------------------------
# Planning this statement costs about as much as executing it (0.5 ms each on the dev machine), and
# the database shares two cores with everything else during a rush. Each connection therefore
# PREPAREs the statements once and EXECUTEs them afterwards. Parameters get explicit types here so
# PostgreSQL infers nothing. (Not for transaction-pooling proxies such as pgbouncer in transaction
# mode: switch off with VOUCHERS_PREPARED_STATEMENTS = False.)
import re  # noqa: E402

PARAM_TYPES = {
    "ci": "varchar", "cid": "bigint", "name": "varchar", "birth_year": "smallint", "now": "timestamptz",
    "today": "date", "month": "varchar", "month_start": "date", "year_prefix": "text", "default_limit": "bigint",
    "tid": "bigint", "medium": "varchar", "x": "bigint", "xp": "bigint", "xm": "bigint", "channel": "varchar",
    "api_client_id": "bigint", "user_id": "integer", "ikey": "varchar", "expires": "timestamptz",
    "serials": "varchar[]", "denoms": "bigint[]", "hold_until": "timestamptz",
    "io": "varchar", "ik": "varchar", "ih": "varchar", "created_at_text": "text",
}
_PARAM = re.compile(r"%\((\w+)\)s")


def _positional(statement: str, types=PARAM_TYPES) -> tuple[str, list[str]]:
    names: list[str] = []

    def number(match):
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"(${names.index(name) + 1}::{types[name]})"

    return _PARAM.sub(number, statement), names


def prepared(name: str, statement: str, types=PARAM_TYPES) -> tuple[str, str, str]:
    """(name, "PREPARE name AS …", "EXECUTE name (%(a)s, …)") of a pyformat statement (also db/payments.py)."""
    body, names = _positional(statement, types)
    return name, f"PREPARE {name} AS {body}", f"EXECUTE {name} ({', '.join(f'%({n})s' for n in names)})"


def _prepared_name(key) -> str:
    by_ci, kind, medium = key
    return f"vouchers_{kind}_{medium}_{'by_ci' if by_ci else 'by_id'}"


# key -> (name, "PREPARE name AS …", "EXECUTE name (%(a)s, %(b)s, …)")
PREPARED = {_key: prepared(_prepared_name(_key), _statement) for _key, _statement in STATEMENTS.items()}


# -- the same statement for pgbench (bench/rush.py compares HTTP against it) ------------------------

def pgbench_script(*, tranche_id: int, medium: str, face_value: int, now, mogrify) -> str:
    """A pgbench custom script running exactly the sale statement above, once per transaction, in
    autocommit like the service, for a random buyer per run (`:buyer`). `mogrify(sql, params)`
    quotes literals (a psycopg2 cursor's mogrify). The per-request values (clock, month) are frozen
    at `now`; the buyer's identity hash is replaced by 'pgbench-<n>'."""
    from vouchers import months, notes

    month = months.month_of(now)
    denoms = notes.note_breakdown(face_value) if medium == "paper" else []
    marker = "PGBENCH_BUYER_MARKER"
    params = {
        "ci": marker, "name": "", "birth_year": None, "now": now, "today": months.seoul(now).date(),
        "month": month, "month_start": months.first_day(month), "year_prefix": month[:4] + "-%",
        "default_limit": 300_000, "tid": tranche_id, "medium": medium, "x": face_value,
        "xp": face_value if medium == "paper" else 0, "xm": face_value if medium == "mobile" else 0,
        "channel": "branch" if medium == "paper" else "zeropay_app", "api_client_id": None, "user_id": None,
        "ikey": "", "expires": now, "denoms": denoms,
        # serials must be unique: derive them from the buyer and the note's position
        "serials": [f"{marker}-{i}" for i in range(len(denoms))],
    }
    statement = re.sub(r"--[^\n]*", "", STATEMENTS[(True, "purchase", medium)])
    text = mogrify(statement, params)
    text = text.decode() if isinstance(text, bytes) else text
    text = re.sub(r"'PGBENCH_BUYER_MARKER-(\d+)'", r"'PGB' || :buyer || '-\1'", text)
    text = text.replace(f"'{marker}'", "'pgbench-' || :buyer")
    # pgbench -M prepared turns every `:name`, even inside a string literal, into a bind parameter:
    # spell the colon of literals like '…claim:replay' as chr(58).
    text = re.sub(r"'([^']*)'", lambda m: "'" + re.sub(r":(?=[A-Za-z_])", "' || chr(58) || '", m.group(1)) + "'",
                  text)
    one_line = " ".join(text.split())
    return f"\\set buyer random(1, 2000000000)\n{one_line};\n"
