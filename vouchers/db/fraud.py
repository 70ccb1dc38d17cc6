"""The cash-out (상품권 깡) scan as set-based SQL over one Seoul month (services/fraud.scan_cash_out).

Why raw SQL: the scan reads a month of every merchant's exchanges and every note they handed in —
millions of rows (bench/fraud.py: 7,000 merchants, 3,000,000 notes) — and must finish in under a
minute; the ORM would fetch them. Here PostgreSQL groups them and hands back only the candidates
(a few hundred rows), to which services/fraud.py applies rules.fraud_score / fraud_severity and
writes the signals with one upsert.

1. `month_notes`: the notes exchanged in the month (the partial index papernote_exchanged_at), with
   their exchange's merchant and their purchase's buyer and sale time, copied once into a temporary
   table that every buyer rule reads.
2. `merchant_month`: each merchant's exchanges in the month against its trailing three months
   (exchange_created_merchant), its category's median and its cap, plus what was refused over it.
3. `buyer_pairs`: per (buyer, merchant) of the month: notes, amount, those exchanged within the quick
   window, the longest sale → exchange time; per buyer the same over all merchants.
4. `refusals`: refused serials (already redeemed, unknown) per merchant.
5. `pair_ids`: the note, purchase and exchange ids of a few (buyer, merchant) pairs, for the evidence.

Thresholds arrive as parameters (rules.FraudThresholds); each WHERE below is the rule its comment
names, and its figures are the ones rules.fraud_score reads. Names compare as rules.person_name_key
does: without white space, lower case.
"""

NAME_KEY = "lower(regexp_replace({col}, '\\s', '', 'g'))"

MONTH_NOTES = """
DROP TABLE IF EXISTS fraud_month_notes;
CREATE TEMPORARY TABLE fraud_month_notes ON COMMIT DROP AS
SELECT n.id AS note_id, n.denomination AS amount, n.purchase_id, n.exchange_id, x.merchant_id,
       n.status_changed_at AS exchanged_at, p.citizen_id, p.created_at AS sold_at,
       extract(epoch FROM n.status_changed_at - p.created_at) / 3600.0 AS hours
  FROM vouchers_papernote n
  JOIN vouchers_exchange x ON x.id = n.exchange_id
  JOIN vouchers_purchase p ON p.id = n.purchase_id
 WHERE n.exchange_id IS NOT NULL AND n.status = 'redeemed'
   AND n.status_changed_at >= %(start)s AND n.status_changed_at < %(end)s;
ANALYZE fraud_month_notes;
"""

MERCHANT_MONTH = """
WITH x AS (
    SELECT merchant_id,
           sum(amount) FILTER (WHERE created_at >= %(start)s) AS amount,
           count(*) FILTER (WHERE created_at >= %(start)s) AS exchanges,
           sum(amount) FILTER (WHERE created_at < %(start)s) AS trailing_sum,
           sum(amount) FILTER (WHERE created_at >= %(t1)s AND created_at < %(t2)s) AS m1,
           sum(amount) FILTER (WHERE created_at >= %(t2)s AND created_at < %(t3)s) AS m2,
           sum(amount) FILTER (WHERE created_at >= %(t3)s AND created_at < %(start)s) AS m3
      FROM vouchers_exchange
     WHERE created_at >= %(t1)s AND created_at < %(end)s AND amount > 0
     GROUP BY merchant_id
),
capped AS (
    SELECT r.merchant_id, count(*) AS refused_notes, coalesce(sum(n.denomination), 0) AS refused_amount
      FROM vouchers_exchangerefusal r LEFT JOIN vouchers_papernote n ON n.id = r.note_id
     WHERE r.reason = 'exchange_cap_exceeded' AND r.created_at >= %(start)s AND r.created_at < %(end)s
     GROUP BY r.merchant_id
),
month AS (
    SELECT m.id AS merchant_id, m.category_id, m.created_at AS registered_at,
           coalesce(x.amount, 0) AS amount, coalesce(x.exchanges, 0) AS exchanges,
           coalesce(x.trailing_sum, 0) AS trailing_sum,
           coalesce(x.m1, 0) AS m1, coalesce(x.m2, 0) AS m2, coalesce(x.m3, 0) AS m3,
           (m.created_at < %(t2)s)::int + (m.created_at < %(t3)s)::int + (m.created_at < %(start)s)::int
               AS trailing_months,
           coalesce(m.monthly_exchange_cap, m.annual_revenue / %(cap_months)s) AS cap,
           coalesce(c.refused_notes, 0) AS refused_notes, coalesce(c.refused_amount, 0) AS refused_amount
      FROM vouchers_merchant m
      LEFT JOIN x ON x.merchant_id = m.id
      LEFT JOIN capped c ON c.merchant_id = m.id
     WHERE x.amount > 0 OR c.merchant_id IS NOT NULL
),
category AS (
    SELECT category_id, count(*) AS merchants,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) AS median
      FROM month WHERE amount > 0 GROUP BY category_id
)
SELECT mo.merchant_id, mo.amount, mo.exchanges, mo.trailing_sum, mo.m1, mo.m2, mo.m3, mo.trailing_months,
       mo.cap, mo.refused_notes, mo.refused_amount, cat.merchants AS category_merchants,
       cat.median AS category_median,
       -- exchange_spike: the month against the merchant's own trailing average (over the months it was
       -- registered; a merchant with no exchange in them has no average: the category rule sees it)
       (mo.trailing_months > 0 AND mo.trailing_sum > 0 AND mo.amount >= %(min_amount)s
        AND mo.amount >= %(spike_ratio)s * mo.trailing_sum / NULLIF(mo.trailing_months, 0)) AS spike,
       -- exchange_above_category: against its category's median month
       (cat.merchants >= %(category_min_merchants)s AND mo.amount >= %(min_amount)s
        AND mo.amount >= %(category_ratio)s * cat.median) AS above_category,
       -- exchange_above_revenue: exchanged + refused over the cap, beyond what the revenue allows
       (mo.amount + mo.refused_amount > %(revenue_share)s * mo.cap
        OR mo.refused_notes > 0) AS above_revenue
  FROM month mo LEFT JOIN category cat ON cat.category_id = mo.category_id
 WHERE (mo.trailing_months > 0 AND mo.trailing_sum > 0 AND mo.amount >= %(min_amount)s
        AND mo.amount >= %(spike_ratio)s * mo.trailing_sum / NULLIF(mo.trailing_months, 0))
    OR (cat.merchants >= %(category_min_merchants)s AND mo.amount >= %(min_amount)s
        AND mo.amount >= %(category_ratio)s * cat.median)
    OR mo.amount + mo.refused_amount > %(revenue_share)s * mo.cap OR mo.refused_notes > 0
"""

# The month's exchange ids of a few merchants (evidence of the amount rules).
MERCHANT_EXCHANGES = """
SELECT merchant_id, (array_agg(id ORDER BY id))[1:%(ids)s] AS exchange_ids
  FROM vouchers_exchange
 WHERE merchant_id = ANY(%(merchants)s) AND created_at >= %(start)s AND created_at < %(end)s AND amount > 0
 GROUP BY merchant_id
"""

BUYER_PAIRS = """
CREATE TEMPORARY TABLE fraud_pairs ON COMMIT DROP AS
SELECT citizen_id, merchant_id, count(*) AS notes, sum(amount) AS amount,
       count(*) FILTER (WHERE hours <= %(quick_hours)s) AS quick_notes,
       coalesce(sum(amount) FILTER (WHERE hours <= %(quick_hours)s), 0) AS quick_amount,
       min(hours) AS min_hours, max(hours) AS max_hours
  FROM fraud_month_notes GROUP BY citizen_id, merchant_id;
CREATE TEMPORARY TABLE fraud_buyers ON COMMIT DROP AS
SELECT citizen_id, sum(notes) AS notes, sum(amount) AS amount, count(*) AS merchants
  FROM fraud_pairs GROUP BY citizen_id;
"""

DROP_PAIRS = "DROP TABLE IF EXISTS fraud_pairs; DROP TABLE IF EXISTS fraud_buyers;"

PAIR_COLUMNS = """p.citizen_id, p.merchant_id, p.notes, p.amount, p.quick_notes, p.quick_amount, p.min_hours,
       p.max_hours, b.notes AS buyer_notes, b.amount AS buyer_amount, b.merchants AS buyer_merchants"""

# quick_self_exchange: quick notes of a buyer whose name is the merchant's representative's
QUICK_SELF = f"""
SELECT {PAIR_COLUMNS}, c.name AS buyer_name, m.representative
  FROM fraud_pairs p
  JOIN fraud_buyers b ON b.citizen_id = p.citizen_id
  JOIN vouchers_citizen c ON c.id = p.citizen_id
  JOIN vouchers_merchant m ON m.id = p.merchant_id
 WHERE p.quick_amount >= %(self_min_amount)s
   AND {NAME_KEY.format(col="c.name")} <> ''
   AND {NAME_KEY.format(col="c.name")} = {NAME_KEY.format(col="m.representative")}
"""

# quick_concentrated: one merchant took most of a buyer's notes of the month, many of them quickly
QUICK_CONCENTRATED = f"""
SELECT {PAIR_COLUMNS}
  FROM fraud_pairs p JOIN fraud_buyers b ON b.citizen_id = p.citizen_id
 WHERE p.quick_amount >= %(concentrated_min_amount)s AND p.amount >= %(concentrated_share)s * b.amount
"""

# buyer_ring: buyers all of whose notes of the month came back through one merchant within days
BUYER_RING = """
SELECT p.merchant_id, count(*) AS buyers, sum(p.notes) AS notes, sum(p.amount) AS amount,
       max(p.max_hours) AS max_hours, percentile_cont(0.5) WITHIN GROUP (ORDER BY p.max_hours) AS median_hours,
       array_agg(p.citizen_id ORDER BY p.citizen_id) AS citizens
  FROM fraud_pairs p JOIN fraud_buyers b ON b.citizen_id = p.citizen_id
 WHERE b.merchants = 1 AND p.notes >= %(ring_min_notes)s AND p.max_hours <= %(ring_days)s * 24
 GROUP BY p.merchant_id
HAVING count(*) >= %(ring_min_buyers)s
"""

# limit_buyer: a buyer at the monthly limit in each of the months, most of whose paper bought this month
# came back through one merchant (against what was bought, not what came back so far: a buyer whose other
# notes are still in their wallet at the month's end is not "most at one merchant")
LIMIT_BUYER = f"""
WITH lim AS (
    SELECT mu.citizen_id, count(*) FILTER (WHERE mu.purchased >= mu.monthly_limit) AS months,
           sum(mu.purchased) AS purchased,
           coalesce(sum(mu.paper_purchased) FILTER (WHERE mu.month = %(month)s), 0) AS paper_this_month
      FROM vouchers_monthlyusage mu JOIN fraud_buyers b ON b.citizen_id = mu.citizen_id
     WHERE mu.month = ANY(%(limit_months)s)
     GROUP BY mu.citizen_id
    HAVING count(*) FILTER (WHERE mu.purchased >= mu.monthly_limit) = %(limit_month_count)s
)
SELECT {PAIR_COLUMNS}, u.months, u.purchased, u.paper_this_month
  FROM lim u
  JOIN fraud_pairs p ON p.citizen_id = u.citizen_id
  JOIN fraud_buyers b ON b.citizen_id = p.citizen_id
 WHERE u.paper_this_month > 0 AND p.amount >= %(limit_share)s * u.paper_this_month
"""

REFUSALS = """
SELECT merchant_id, count(*) AS refusals,
       count(*) FILTER (WHERE reason = 'already_redeemed') AS already_redeemed,
       count(*) FILTER (WHERE reason = 'unknown') AS unknown,
       (array_agg(id ORDER BY id))[1:%(ids)s] AS refusal_ids,
       (array_agg(DISTINCT exchange_id))[1:%(ids)s] AS exchange_ids,
       coalesce((array_agg(note_id ORDER BY id) FILTER (WHERE note_id IS NOT NULL))[1:%(ids)s], '{}') AS note_ids,
       (array_agg(serial ORDER BY id))[1:20] AS serials,
       min(created_at) AS first_at, max(created_at) AS last_at
  FROM vouchers_exchangerefusal
 WHERE reason IN ('already_redeemed', 'unknown') AND created_at >= %(start)s AND created_at < %(end)s
 GROUP BY merchant_id
HAVING count(*) >= %(refusal_min)s
"""

PAIR_IDS = """
SELECT f.citizen_id, f.merchant_id, (array_agg(f.note_id ORDER BY f.note_id))[1:%(ids)s] AS note_ids,
       (array_agg(DISTINCT f.purchase_id))[1:%(ids)s] AS purchase_ids,
       (array_agg(DISTINCT f.exchange_id))[1:%(ids)s] AS exchange_ids,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY f.hours) AS median_hours
  FROM fraud_month_notes f
  JOIN unnest(%(citizens)s::bigint[], %(merchants)s::bigint[]) AS want(citizen_id, merchant_id)
    ON want.citizen_id = f.citizen_id AND want.merchant_id = f.merchant_id
 GROUP BY f.citizen_id, f.merchant_id
"""

# One statement writes every signal: new ones are inserted, open ones get the new figures, decided
# ones are left as staff left them. (xmax = 0) tells an insert from an update.
UPSERT = """
INSERT INTO vouchers_fraudsignal AS s (rule, merchant_id, citizen_id, period, severity, score, evidence,
                                       purchase_ids, note_ids, exchange_ids, refusal_ids, status, created_at,
                                       scanned_at, decided_at)
SELECT r.rule, r.merchant_id, r.citizen_id, %(period)s, r.severity, r.score, r.evidence,
       r.purchase_ids, r.note_ids, r.exchange_ids, r.refusal_ids, 'open', %(now)s, %(now)s, NULL
  FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(rule varchar, merchant_id bigint, citizen_id bigint, severity int,
                                                score numeric, evidence jsonb, purchase_ids bigint[],
                                                note_ids bigint[], exchange_ids bigint[], refusal_ids bigint[])
ON CONFLICT ON CONSTRAINT fraudsignal_one_per_rule_merchant_buyer_period DO UPDATE
   SET severity = EXCLUDED.severity, score = EXCLUDED.score, evidence = EXCLUDED.evidence,
       purchase_ids = EXCLUDED.purchase_ids, note_ids = EXCLUDED.note_ids, exchange_ids = EXCLUDED.exchange_ids,
       refusal_ids = EXCLUDED.refusal_ids, scanned_at = EXCLUDED.scanned_at
 WHERE s.status = 'open'
RETURNING s.id, (s.xmax = 0) AS inserted
"""

# One scan at a time; its sorts and hash aggregates over millions of notes get room in memory for this
# transaction only (the 4 MB default spills them to disk).
LOCK = "SELECT pg_advisory_xact_lock(hashtext('vouchers.scan_cash_out')); SET LOCAL work_mem = '128MB'"


def fetch(cursor, sql, params) -> list[dict]:
    cursor.execute(sql, params)
    names = [c.name for c in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
