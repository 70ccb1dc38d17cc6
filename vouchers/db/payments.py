"""The pay-code payment (CPM) as ONE PostgreSQL statement (data-modifying CTEs), used by
`services.payments.pay_with_code`; vouchers.db.session runs it like the sale (prepared per
connection, autocommit outside a transaction, a savepoint inside one).

Why raw SQL: bench/payments.py measured the ORM twin at 15 statements per POS payment over HTTP
(key claim, savepoint, merchant, code, wallet lock, code spend, expiry check, payment, wallet,
ledger line, release, stored answer, BEGIN/COMMIT), each a round trip while the wallet row stays
locked and each costing Django's query compilation. Here it is one round trip.

Order inside the statement, the same as the ORM twin's (vouchers/locks.py): read the merchant and
the code (no lock), lock the code's wallet (lock 3, FOR UPDATE: after waiting, the statement sees
the wallet's latest committed row), then spend the code by a conditional UPDATE (its row after the
wallet's; a code used or voided meanwhile is re-checked on its latest version and not spent), then
the payment, the wallet debit and its ledger line with the balance after (invariant 3), and with an
Idempotency-Key the stored answer. Every write is gated on everything before it: the code is only
spent when the merchant may take mobile vouchers, the wallet holds the amount and has no credit
past its validity (that rare case is left to the ORM twin, which expires the credit first:
services/wallet.expire_held_credit); so a refusal writes nothing and the statement still returns
one row of diagnostics, from which the service names it through vouchers.rules, in the ORM twin's
order. The only abort is the replay mark below.

Parameters are psycopg2 pyformat (`%(name)s`); `%` itself is never used as an operator here.
"""
import re

from vouchers.db.sql import REFUSED_MARK, prepared

MERCHANT_AND_CODE = """
m AS (
    SELECT id, code, name, status, accepts_mobile FROM vouchers_merchant WHERE business_number = %(bn)s
),
pc AS (
    SELECT id, wallet_id FROM vouchers_paycode
     WHERE __CODE_MATCH__ AND status = 'active' AND expires_at > %(now)s
       AND EXISTS (SELECT 1 FROM m WHERE m.status = 'approved' AND m.accepts_mobile)
),"""
BY_TOKEN = "token = %(code)s"
BY_SHORT_CODE = "short_code = %(code)s"  # the partial unique index of active short codes

DEBIT = """
w AS MATERIALIZED (
    SELECT id, balance FROM vouchers_wallet WHERE id = (SELECT wallet_id FROM pc) FOR UPDATE
),
-- a credit past its validity (walletentry_credit_expiry): the ORM twin expires it before paying
ex AS (
    SELECT EXISTS (SELECT 1 FROM vouchers_walletentry e
                    WHERE e.wallet_id = (SELECT id FROM w) AND e.kind = 'purchase'
                      AND e.expires_at <= %(now)s) AS expired
),
c AS (
    UPDATE vouchers_paycode AS u SET status = 'used', used_at = %(now)s
     WHERE u.id = (SELECT id FROM pc) AND u.status = 'active' AND u.expires_at > %(now)s
       AND EXISTS (SELECT 1 FROM w WHERE w.balance >= %(x)s)
       AND NOT (SELECT expired FROM ex)
    RETURNING u.id, u.api_client_id
),
p AS (
    INSERT INTO vouchers_payment
           (merchant_id, wallet_id, method, pay_code_id, api_client_id, code_issuer_id, user_id, amount, refunded,
            status, idempotency_key, created_at)
    SELECT m.id, w.id, 'pay_code', c.id, %(api_client_id)s::bigint, c.api_client_id, %(user_id)s::integer, %(x)s,
           0, 'paid', %(ikey)s, %(now)s
      FROM c, w, m
    RETURNING id, code_issuer_id
),
d AS (
    UPDATE vouchers_wallet AS wa SET balance = wa.balance - %(x)s, updated_at = %(now)s
      FROM p
     WHERE wa.id = (SELECT id FROM w)
    RETURNING wa.id, wa.balance
),
e AS (
    INSERT INTO vouchers_walletentry
           (wallet_id, amount, balance_after, kind, purchase_id, payment_id, reference, created_at, expires_at)
    SELECT d.id, -%(x)s, d.balance, 'payment', NULL, p.id, 'payment:' || p.id, %(now)s, NULL
      FROM d, p
    RETURNING id
),"""

# With an Idempotency-Key (the POS API): the answer is stored by the same statement, into the shared
# idempotency table, exactly as vouchers.api.serializers.payment_body shows the payment (a test
# holds the two equal). As in the sale (sql.KEYED_ANSWER) the record goes in last: a concurrent
# replay of the same key waits here for the first request's commit, finds the record, and aborts
# the whole statement (REFUSED_MARK ":replay"); the view then answers from the record.
KEYED_ANSWER = """
k AS (
    INSERT INTO portal_idempotencyrecord (owner, "key", request_hash, created_at, status_code, response_body)
    SELECT %(io)s, %(ik)s, %(ih)s, %(now)s, 201, jsonb_build_object(
               'id', p.id, 'approval_number', repeat('0', 10 - length(p.id::text)) || p.id::text,
               'merchant', m.code, 'merchant_name', m.name, 'method', 'pay_code', 'amount', %(x)s,
               'refunded', 0, 'status', 'paid', 'created_at', %(created_at_text)s)
      FROM p, m, e
    ON CONFLICT (owner, "key") DO NOTHING
    RETURNING id
),"""

RESULT = """
done AS (SELECT 1)
SELECT m.id, m.code, m.name, m.status, m.accepts_mobile, pc.id, pc.wallet_id, w.balance, ex.expired,
       p.id, p.code_issuer_id, d.balance,
       CASE WHEN p.id IS NOT NULL AND __KEY_TAKEN__
            THEN ('__REFUSED_MARK__:replay:' || p.id::text)::integer
       END AS refused_after_write
  FROM done
  LEFT JOIN m ON true
  LEFT JOIN pc ON true
  LEFT JOIN w ON true
  LEFT JOIN ex ON true
  LEFT JOIN p ON true
  LEFT JOIN d ON true
""".replace("__REFUSED_MARK__", REFUSED_MARK)

RESULT_COLUMNS = ("merchant_id", "merchant_code", "merchant_name", "merchant_status", "accepts_mobile",
                  "pay_code_id", "wallet_id", "balance", "expired_credit", "payment_id", "code_issuer_id",
                  "balance_after", "refused_after_write")


def build(*, short: bool, keyed: bool) -> str:
    parts = ["WITH", MERCHANT_AND_CODE.replace("__CODE_MATCH__", BY_SHORT_CODE if short else BY_TOKEN), DEBIT]
    if keyed:
        parts.append(KEYED_ANSWER)
    parts.append(RESULT.replace("__KEY_TAKEN__", "NOT EXISTS (SELECT 1 FROM k)" if keyed else "false"))
    return "\n".join(parts)


# key: (the code is the 6-digit short code, an Idempotency-Key is settled in the statement)
STATEMENTS = {(short, keyed): build(short=short, keyed=keyed) for short in (False, True) for keyed in (False, True)}

PARAM_TYPES = {
    "bn": "varchar", "code": "varchar", "now": "timestamptz", "x": "bigint", "api_client_id": "bigint",
    "user_id": "integer", "ikey": "varchar", "io": "varchar", "ik": "varchar", "ih": "varchar",
    "created_at_text": "text",
}
PREPARED = {key: prepared(f"vouchers_pay_code_{'short' if key[0] else 'token'}{'_keyed' if key[1] else ''}",
                          statement, PARAM_TYPES)
            for key, statement in STATEMENTS.items()}


# -- the same statement for pgbench (bench/payments.py compares HTTP against it) --------------------

def pgbench_script(*, now, mogrify) -> str:
    """A pgbench custom script running exactly the keyed statement above by QR token, once per
    transaction, in autocommit like the service. The caller's script sets `:k` (the code 'pgb<k>'
    and the key 'pgb-<k>'), `:m` (merchant id), `:cl` (its POS client id) and `:x` (the amount);
    the clock is frozen at `now`. The merchant is found by id rather than by business number (the same
    probe of a unique index; pgbench cannot pick a business number). `mogrify(sql, params)` quotes
    literals (psycopg2's)."""
    markers = {"code": "PGB_CODE", "ikey": "PGB_IKEY", "io": "PGB_OWNER", "ik": "PGB_IKEY", "bn": "PGB_BN"}
    params = {"now": now, "x": 535353535353, "api_client_id": 616161616161, "user_id": None,
              "ih": "pgbench", "created_at_text": now.isoformat(), **markers}
    statement = re.sub(r"--[^\n]*", "", STATEMENTS[(False, True)])
    text = mogrify(statement, params)
    text = text.decode() if isinstance(text, bytes) else text
    text = text.replace("business_number = 'PGB_BN'", "id = (:m)::bigint")  # the same unique-index probe
    for value, variable in (("535353535353", "(:x)::bigint"),
                            ("616161616161", "(:cl)::bigint"), ("'PGB_CODE'", "('pgb' || :k)"),
                            ("'PGB_IKEY'", "('pgb-' || :k)"), ("'PGB_OWNER'", "('client:' || :cl)")):
        text = text.replace(value, variable)
    # pgbench -M prepared turns every `:name`, even inside a string literal, into a bind parameter:
    # spell the colon of literals like '…:replay' as chr(58) (as sql.pgbench_script does).
    text = re.sub(r"'([^']*)'", lambda m: "'" + re.sub(r":(?=[A-Za-z_])", "' || chr(58) || '", m.group(1)) + "'",
                  text)
    return " ".join(text.split()) + ";\n"
