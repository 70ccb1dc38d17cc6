"""The lock order of delivery, written down once (as vouchers/locks.py).

Every transaction that takes more than one of these row locks takes them in this order:

    1. the operator              (Operator: a status change or wind-down; orders only read it)
    2. the store                 (Store: approval and status changes)
    3. the order                 (Order: a cancel locks it; a report inserts it)
    4. the waiver usage          (WaiverUsage, per store, operator and month)
    5. then the vouchers order   (wallet → its pay code or payment: vouchers/locks.py)

and several rows of one kind in primary-key order.

Orders (services/orders.py): a cancel locks the order (3), its waiver usage (4), then the wallet and
the payment (5). A report has no order row to lock yet: it takes the waiver usage (4), pays (5), and
inserts the order last, so the new row's unique (operator, external_id) entry is the last thing it
holds; only a twin report of the same external_id waits on that entry, and that twin holds nothing
the first one waits for (it has taken the same waiver row after the first, and pays from a wallet
locked after the first's). A card or cash report without a waiver is the INSERT alone.

An order's INSERT also reads its operator's and its store's committed statuses (the trigger of
migration 0003), so a wind-down or a suspension committed in any process stops new orders at once,
whatever a process's lookup cache still holds.
"""
