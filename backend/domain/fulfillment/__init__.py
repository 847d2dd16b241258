"""Fulfillment: orders reserve stock, pickers walk pick lists, packers fill cartons, shipping
hands cartons to a carrier. Public entry points are in `service`; stock moves only via the ledger."""
