"""Writes of the delivery app, one module per concern (CONTRIBUTING.md), re-exported here:

- stores.py      operators' and owners' applications, listings, approval, status changes
- orders.py      reporting orders (commission, waiver, paying with Jinju Love), cancelling them
- contracts.py   commission contracts and waivers
- statements.py  monthly statements, month close, operator wind-down
"""
from delivery.services.statements import (BuildResult, build_statements, close_out_operator,  # noqa: F401
                                          mark_commission_received, wind_down_operator)
