"""Issue 15: ten éditeurs' clicks at once for the same ESSMS on PostgreSQL — exactly one order wins (S-ONCE, the
ledger's constraint and the locked check), the nine others are refused in French, no server error."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import close_old_connections, connection

from esms_numerique.ledger.models import FundedEssms
from esms_numerique.sons.models import Order
from esms_numerique.sons.services import ItemRequest, OrderError, sign_order

from .conftest import ESSMS

pytestmark = pytest.mark.django_db(transaction=True)


def test_ten_orders_for_the_same_essms_one_wins(world):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections: PostgreSQL (CI)")
    barrier = threading.Barrier(10)
    outcomes: list = []

    def order() -> None:
        try:
            barrier.wait()
            item = [ItemRequest(ESSMS[0], "4.2", "5.0")]
            outcomes.append(sign_order(world["editeur"], world["og"], world["solution"], "", dt.date(2023, 5, 1), item))
        except Exception as error:  # every outcome is asserted below
            outcomes.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=order) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [o for o in outcomes if isinstance(o, Order)]
    refused = [o for o in outcomes if isinstance(o, OrderError)]
    assert (len(won), len(refused)) == (1, 9), outcomes
    assert all("S-ONCE" in str(error) for error in refused), refused
    assert Order.objects.count() == 1
    assert FundedEssms.objects.filter(finess_et=ESSMS[0], holds=True).count() == 1
