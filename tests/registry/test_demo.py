"""The synthetic extracts look like the programme: national scale, valid numbers, realistic mix."""

from __future__ import annotations

from collections import Counter

from esms_numerique.registry.demo import generate
from esms_numerique.registry.extract import parse_ej, parse_et
from esms_numerique.rules.geography import geography
from esms_numerique.rules.parameters import default_tree


def test_national_scale_is_close_to_the_programme(tmp_path):
    files = generate(tmp_path, "national")
    et = parse_et(files.et.name, files.et.read_bytes())  # the strict reader accepts it: keys, SIRET, dates
    ej = parse_ej(files.ej.name, files.ej.read_bytes())
    sectors = {
        r["category"]: r["sector"] for r in default_tree().get("finess/sectors.category_sectors").values[-1].value
    }
    essms = [row for row in et.records.values() if row["categetab"] in sectors]
    assert len(essms) == files.essms == 36_500
    assert 9_000 <= len(ej.records) <= 11_000
    assert len(et.records) > len(essms)  # hospitals and health centres too
    geo = geography()
    departments = {geo.normalize_department(row["departement"]) for row in essms}
    assert len(departments) == 101
    assert {geo.departments[d].region for d in departments} == set(geo.regions)
    share_pa = Counter(sectors[row["categetab"]] for row in essms)["PA"] / len(essms)
    assert 0.20 <= share_pa <= 0.24
    sizes = Counter(row["nofinessej"] for row in essms)
    assert min(sizes.values()) == 1
    assert max(sizes.values()) >= 100
    assert "DONNÉES SYNTHÉTIQUES" in next(iter(et.records.values()))["rslongue"]
