"""The lock order of delivery, written down once (as vouchers/locks.py).

Every transaction that takes more than one of these row locks takes them in this order:

    1. the operator              (Operator: a status change or wind-down; orders only read it)
    2. the store                 (Store: approval and status changes)
    3. the order                 (Order: a cancel locks it; a report inserts it)
    4. the waiver usage          (WaiverUsage, per store, operator and month)
    5. then the vouchers order   (wallet → its pay code or payment: vouchers/locks.py)

and several rows of one kind in primary-key order.
"""
