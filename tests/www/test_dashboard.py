"""The follow-up page's list of projects at risk, written in one pass (dashboard_views.at_risk_items): the same
links, texts and dates as the template wrote, every text escaped."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from esms_numerique.www.dashboard_views import at_risk_items


def test_each_item_links_the_dossier_and_escapes_its_texts():
    rows = [
        {"reference": "ESMS-2024-00001", "title": "Grappe <b>A</b> & co", "reason": "échéance proche", "due": None},
        {
            "reference": "ESMS-2024-00002",
            "title": "« Deux »",
            "reason": "échéance dépassée",
            "due": dt.date(2025, 3, 9),
        },
    ]
    html = at_risk_items(rows)
    first = reverse("www:dossier_detail", args=["ESMS-2024-00001"])
    second = reverse("www:dossier_detail", args=["ESMS-2024-00002"])
    assert html == (
        f'<li><a href="{first}">ESMS-2024-00001</a> Grappe &lt;b&gt;A&lt;/b&gt; &amp; co — échéance proche</li>'
        f'<li><a href="{second}">ESMS-2024-00002</a> « Deux » — échéance dépassée (échéance 09/03/2025)</li>'
    )
    assert at_risk_items([]) == ""
