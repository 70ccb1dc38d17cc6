"""Writes of the delivery app, one module per concern (CONTRIBUTING.md), re-exported here:

- stores.py      operators' and owners' applications, listings, approval, status changes
- operators.py   registering operators, suspending and reinstating them, commission contracts
- orders.py      reporting orders (commission, waiver, paying with Jinju Love), cancelling them
- statements.py  monthly statements, month close, operator wind-down
"""
from delivery.services.orders import cancel_order, report_order  # noqa: F401
from delivery.services.operators import add_contract, register_operator, set_operator_status  # noqa: F401
from delivery.services.stores import (Application, BulkApproval, apply_as_owner, apply_for_store,  # noqa: F401
                                      approve_store, approve_stores, set_store_status, sign_up_owner)
from delivery.services.statements import (BuildResult, build_statements, close_out_operator,  # noqa: F401
                                          mark_commission_received, wind_down_operator)
