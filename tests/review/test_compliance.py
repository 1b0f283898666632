"""Compliance as data: sub-prefectures and sites, dates, the bundled SYNTHETIC list, user lists."""

from __future__ import annotations

import pytest

from footprint.exceptions import SchemaError
from footprint.review import ComplianceList, bundled_compliance_path, load_compliance


def test_bundled_list_is_labelled_synthetic_and_follows_domain_dates():
    comp = load_compliance()
    assert comp.synthetic is True
    assert "SYNTHETIC" in bundled_compliance_path().read_text(encoding="utf-8").splitlines()[0]
    assert comp.locate("Berbérati", "2016-06-01").status == "compliant"  # cleared May 2016
    assert comp.locate("BERBERATI", "2016-04-30").status == "not_compliant"
    assert comp.locate("Carnot", "2016-09-30").status == "not_compliant"  # Oct 2016
    assert comp.locate("carnot", "2016-10-01").status == "compliant"
    bouar = comp.locate("Bouar", "2024-06-01")
    assert bouar.status == "not_compliant" and bouar.zone == "CAR-West"  # illustrative end date 2023-12-31
    assert comp.locate("Amada-Gaza", "2024-06-01").status == "not_compliant"
    assert comp.locate("Bria", "2024-06-01").status == "not_compliant"
    place = comp.locate("Atlantis", "2024-06-01")
    assert place.status == "unknown_place" and place.subprefecture is None


def test_site_rows_and_periods(tmp_path):
    path = tmp_path / "compliance.csv"
    path.write_text(
        "country;zone;subprefecture;site;compliant_from;compliant_to;decision_ref\n"
        "CAF;CAR-West;Nola;;2016-10-01;2019-12-31;AD 1\n"
        "CAF;CAR-West;Nola;;2021-01-01;;AD 2\n"
        "CAF;CAR-West;Nola;Salo;;;site excluded\n",
        encoding="utf-8",
    )
    comp = ComplianceList(path)
    assert comp.synthetic is False
    assert comp.locate("Nola", "2018-01-01").decision_ref == "AD 1"
    assert comp.locate("Nola", "2020-06-01").status == "not_compliant"
    assert comp.locate("Nola", "2022-06-01").decision_ref == "AD 2"
    salo = comp.locate("Salo", "2022-06-01")
    assert (salo.status, salo.subprefecture, salo.site) == ("not_compliant", "Nola", "Salo")


def test_bad_list_names_row_and_field(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "country,zone,subprefecture,site,compliant_from,compliant_to,decision_ref\n"
        "CAF,CAR-West,Boda,,2016-10-01,2015-01-01,x\n"
        "CAF,CAR-West,,,01/10/2016,,x\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError) as info:
        ComplianceList(path)
    assert {(p.row, p.field) for p in info.value.problems} == {
        (1, "compliant_to"),
        (2, "subprefecture"),
        (2, "compliant_from"),
    }
    missing = tmp_path / "cols.csv"
    missing.write_text("country,zone\nCAF,CAR-West\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="compliance list"):
        ComplianceList(missing)
