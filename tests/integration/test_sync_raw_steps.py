"""Envelopes carry raw steps (codes as scanned, quantities as typed) that the server interprets; an
envelope of the earlier format still waiting in an outbox is applied as it says, and a step the
interpreter cannot read is refused with words the worker can act on, never dropped."""

from __future__ import annotations

import pytest

from tests.factories import item, receive, warehouse
from tests.sync_support import Handheld, on_hand, user

pytestmark = pytest.mark.usefixtures("ledger_db")

B1, B2 = "WH1-B1", "WH1-B2"
MUG_GTIN, MUG_CASE = "4006381333931", "14006381333938"


async def test_a_raw_receive_reads_its_case_barcode_and_a_typed_total():
    await warehouse()
    await item("MUG", gtin=MUG_GTIN, case_gtin=MUG_CASE)
    receiver, hh = await user("receiver"), Handheld()
    cases = hh.scan(receiver, "receive", items=[MUG_CASE, MUG_CASE], to_bin=B1)  # 2 cases of 24
    typed = hh.scan(receiver, "receive", items=[MUG_CASE, 30, MUG_GTIN], to_bin=B2)  # 30 typed, then one more
    results = await hh.send(cases, typed, relay=receiver)
    assert [r.status for r in results] == ["applied", "applied"]
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (48, 31)


async def test_an_envelope_of_the_earlier_format_is_applied_as_it_says():
    await warehouse()
    await item("MUG", gtin=MUG_GTIN, case_gtin=MUG_CASE)
    await receive("MUG", 10, B1)
    mover, hh = await user("receiver"), Handheld()
    old = hh.scan(mover, "move", sku="MUG", qty=4, from_location=B1, to_location=B2, lot="", doc_ref="")
    [result] = await hh.send(old, relay=mover)
    assert result.status == "applied"
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (6, 4)


async def test_a_step_naming_an_unknown_code_is_rejected_with_its_reason():
    await warehouse()
    await item("MUG", gtin=MUG_GTIN)
    receiver, hh = await user("receiver"), Handheld()
    [result] = await hh.send(hh.scan(receiver, "receive", items=["NO-SUCH-CODE"], to_bin=B1), relay=receiver)
    assert result.status == "rejected" and "NO-SUCH-CODE" in result.reason
    [mixed] = await hh.send(hh.scan(receiver, "receive", items=[MUG_GTIN], to_bin="WH1-Z"), relay=receiver)
    assert mixed.status == "rejected" and "not a bin" in mixed.reason
    [half] = await hh.send(hh.scan(receiver, "receive", items=[MUG_GTIN], to_location=B1), relay=receiver)
    assert half.status == "rejected" and "redo the scan" in half.reason  # neither format: a clear refusal


async def test_a_batch_read_ahead_gives_each_step_the_answer_it_gets_alone():
    await warehouse()
    await item("MUG", gtin=MUG_GTIN, case_gtin=MUG_CASE)
    await receive("MUG", 100, B1)
    mover = await user("receiver")
    steps = [
        {"from_bin": B1, "items": ["mug", 2], "to_bin": B2},  # a SKU typed on the keypad
        {"from_bin": B1, "items": ["4006381333932"], "to_bin": B2},  # a GTIN with a wrong check digit
        {"from_bin": B1, "items": [MUG_CASE], "to_bin": B2},  # a case of 24
        {"from_bin": B1, "items": ["NO-SUCH-CODE"], "to_bin": B2},
        {"from_bin": "WH1-NOPE", "items": [MUG_GTIN], "to_bin": B2},
        {"from_bin": B1, "items": [MUG_GTIN], "to_bin": "WH1-Z"},  # a zone, not a bin
    ]
    together, alone = Handheld(), Handheld()
    batch = await together.send(*(together.scan(mover, "move", **s) for s in steps), relay=mover)
    one_by_one = [(await alone.send(alone.scan(mover, "move", **s), relay=mover))[0] for s in steps]
    assert [(r.status, r.reason) for r in batch] == [(r.status, r.reason) for r in one_by_one]
    assert [r.status for r in batch] == ["applied", "rejected", "applied", "rejected", "rejected", "rejected"]
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (100 - 2 * 26, 2 * 26)
