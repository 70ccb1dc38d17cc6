"""Writes of the delivery app, one module per concern (CONTRIBUTING.md), re-exported here:

- stores.py      operators' and owners' applications, listings, approval, status changes
- orders.py      reporting orders (commission, waiver, paying with Jinju Love), cancelling them
- contracts.py   commission contracts and waivers
- statements.py  monthly statements, month close, operator wind-down
"""

# orders
from delivery.services.orders import cancel_order, report_order  # noqa: E402,F401
