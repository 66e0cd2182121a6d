from __future__ import annotations

import pytest

from inventory.host.cpu_launch import launch_year, max_mhz_from_model


@pytest.mark.parametrize(
    ("model", "year"),
    [
        ("Intel(R) Core(TM) i5-2400 CPU @ 3.10GHz", 2011),
        ("Intel(R) Core(TM) i3-4130 CPU @ 3.40GHz", 2013),
        ("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz", 2017),
        ("Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", 2020),
        ("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", 2021),
        ("12th Gen Intel(R) Core(TM) i5-1235U", 2021),
        ("13th Gen Intel(R) Core(TM) i7-13700", 2022),
        ("Intel(R) Core(TM) i7 CPU         920  @ 2.67GHz", 2008),
        ("Intel(R) Core(TM) i3 CPU       M 380  @ 2.53GHz", 2010),
        ("Intel(R) Core(TM)2 Duo CPU     E8400  @ 3.00GHz", 2008),
        ("Intel(R) Core(TM)2 Quad CPU    Q6600  @ 2.40GHz", 2007),
        ("Intel(R) Pentium(R) Dual  CPU  E2180  @ 2.00GHz", 2007),
        ("Intel(R) Pentium(R) CPU G4560 @ 3.50GHz", 2016),
        ("Intel(R) Celeron(R) CPU G1610 @ 2.60GHz", 2013),
        ("Intel(R) Celeron(R) N4020 CPU @ 1.10GHz", 2019),
        ("Intel(R) Celeron(R) CPU  N3060  @ 1.60GHz", 2015),
        ("Intel(R) Pentium(R) Silver N5000 CPU @ 1.10GHz", 2017),
        ("Intel(R) Xeon(R) CPU E5-2680 v2 @ 2.80GHz", 2013),
        ("Intel(R) Core(TM) Ultra 5 125H", 2023),
        ("AMD Ryzen 5 3600 6-Core Processor", 2019),
        ("AMD Ryzen 5 5500U with Radeon Graphics", 2021),
        ("AMD Ryzen 7 PRO 4750U with Radeon Graphics", 2020),
        ("AMD A4-5300 APU with Radeon(tm) HD Graphics", 2012),
        ("AMD Athlon(tm) II X2 250 Processor", 2009),
    ],
)
def test_launch_year(model: str, year: int) -> None:
    assert launch_year(model) == year


@pytest.mark.parametrize(
    "model", [None, "", "AMD EPYC", "QEMU Virtual CPU version 2.5+", "ARMv7 Processor rev 4"]
)
def test_unknown_models_give_no_guess(model) -> None:
    assert launch_year(model) is None


def test_rated_clock_from_model_string() -> None:
    assert max_mhz_from_model("Intel(R) Core(TM) i5-2400 CPU @ 3.10GHz") == 3100.0
    assert max_mhz_from_model("AMD Ryzen 5 3600 6-Core Processor") is None
