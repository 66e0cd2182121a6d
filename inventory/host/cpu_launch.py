"""Estimate a CPU's launch year from its model string (docs/planning.md: the age without a purchase date).

An estimate within about a year is enough to rank ageing machines; the tables hold the families a
commune office is likely to run (Intel Core, Pentium/Celeron/Atom, Xeon, AMD Ryzen/FX/A-series).
Unknown models give ``None``, never a guess.
"""

from __future__ import annotations

import re

# Intel Core i3/i5/i7/i9 generation -> launch year (first parts of that generation to ship).
_INTEL_CORE_GEN = {
    2: 2011, 3: 2012, 4: 2013, 5: 2015, 6: 2015, 7: 2017, 8: 2017,
    9: 2018, 10: 2020, 11: 2021, 12: 2021, 13: 2022, 14: 2023,
}  # fmt: skip
# Core 2 (2006-2009): series letter + first digit.
_CORE2 = {"E4": 2007, "E6": 2006, "E7": 2008, "E8": 2008, "Q6": 2007, "Q8": 2008, "Q9": 2008,
          "T5": 2007, "T6": 2008, "T7": 2006, "T8": 2007, "T9": 2008, "P7": 2008, "P8": 2008,
          "P9": 2008, "L7": 2007, "U7": 2007, "SU": 2008, "X9": 2008}  # fmt: skip
# Pentium/Celeron/Atom and Xeon E3 families: (regular expression, year), first match wins.
_PATTERNS: tuple[tuple[str, int], ...] = (
    (r"\bPentium\(R\) 4\b|\bPentium 4\b", 2004),
    (r"\bPentium\(R\) D\b", 2005),
    (r"\bPentium\(R\) Dual\b.*\b[ET]2\d{3}", 2007),
    (r"\bPentium\(R\) Dual\b.*\b[ET][56]\d{3}", 2008),
    (r"\bCeleron\(R\) M\b", 2004),
    # Gold/Silver/plain Pentium and Celeron with a G/J/N model number.
    (r"\b(?:Pentium|Celeron).*\bG6\d{2}\b", 2011),
    (r"\b(?:Pentium|Celeron).*\bG5\d{2}\b", 2011),
    (r"\b(?:Pentium|Celeron).*\bG[12]\d{3}\b", 2013),
    (r"\b(?:Pentium|Celeron).*\bG3\d{3}\b", 2014),
    (r"\b(?:Pentium|Celeron).*\bG39\d{2}\b", 2015),
    (r"\b(?:Pentium|Celeron).*\bG4[4-6]\d{2}\b", 2016),
    (r"\b(?:Pentium|Celeron).*\bG4[9]\d{2}\b|\bPentium.*\bG5\d{3}\b", 2018),
    (r"\b(?:Pentium|Celeron).*\bG[56]9\d{2}\b|\bPentium.*\bG64\d{2}\b", 2020),
    (r"\b(?:Pentium|Celeron).*\bG[67][49]\d{2}\b", 2022),
    (r"\b(?:Celeron|Pentium).*\b[JN]2\d{3}\b|\bCeleron.*\bJ1[89]\d{2}\b", 2013),
    (r"\b(?:Celeron|Pentium).*\b[JN]3[01]\d{2}\b", 2015),
    (r"\b(?:Celeron|Pentium).*\b[JN]3[34]\d{2}\b|\bPentium.*\bN4200\b", 2016),
    (r"\b(?:Celeron|Pentium).*\b[JN][45]0[2-4]\d\b|\bCeleron.*\b[JN]41[0-2]\d\b", 2019),
    (r"\b(?:Celeron|Pentium).*\b[JN][45]0\d{2}\b", 2017),
    (r"\b(?:Celeron|Pentium).*\b[JN][456][015]\d{2}\b", 2021),
    (r"\bIntel\(R\) N[12]\d{2}\b|\bCore\(TM\) i3-N3\d{2}\b", 2023),
    (r"\bAtom\(TM\) CPU N2[78]\d\b", 2008),
    (r"\bAtom\(TM\) CPU [ND][45]\d{2}\b", 2010),
    (r"\bAtom\(TM\).*\bZ8[3-5]\d{2}\b", 2016),
    (r"\bXeon\(R\) CPU\s+E3-\d{4}\s+v6\b", 2017),
    (r"\bXeon\(R\) CPU\s+E3-\d{4}\s+v5\b", 2015),
    (r"\bXeon\(R\) CPU\s+E[35]-\d{4}\s+v4\b", 2016),
    (r"\bXeon\(R\) CPU\s+E[35]-\d{4}\s+v3\b", 2014),
    (r"\bXeon\(R\) CPU\s+E[35]-\d{4}\s+v2\b", 2013),
    (r"\bXeon\(R\) CPU\s+E3-\d{4}\b", 2011),
    (r"\bXeon\(R\) CPU\s+E5-\d{4}\b", 2012),
    (r"\bXeon\(R\) (?:Bronze|Silver|Gold|Platinum) \d1\d{2}", 2017),
    (r"\bXeon\(R\) (?:Bronze|Silver|Gold|Platinum) \d2\d{2}", 2019),
    (r"\bXeon\(R\) (?:Bronze|Silver|Gold|Platinum) \d3\d{2}", 2021),
    (r"\bXeon\(R\) (?:Bronze|Silver|Gold|Platinum) \d4\d{2}", 2023),
    (r"\bCore\(TM\) Ultra [579] 1\d{2}", 2023),
    (r"\bCore\(TM\) Ultra [579] 2\d{2}", 2024),
    # AMD before Ryzen.
    (r"\bAthlon\(tm\) 64 X2\b|\bAthlon 64 X2\b", 2005),
    (r"\bPhenom\(tm\) II\b", 2009),
    (r"\bPhenom\(tm\)", 2008),
    (r"\bAthlon\(tm\) II\b", 2009),
    (r"\bAMD E-[34]50\b|\bAMD C-[56]0\b", 2011),
    (r"\bAMD E[12]-[12]\d{3}\b", 2013),
    (r"\bAMD (?:E2|A[4-9]|A1[02])-9\d{3}", 2016),
    (r"\bAMD A\d{1,2}-3\d{3}", 2011),
    (r"\bAMD A\d{1,2}-[45]\d{3}", 2012),
    (r"\bAMD A\d{1,2}-6\d{3}", 2013),
    (r"\bAMD A\d{1,2}-7\d{3}", 2014),
    (r"\bAMD A\d{1,2}-8\d{3}", 2015),
    (r"\bAMD FX\(tm\)-\d1\d{2}\b|\bAMD FX-\d1\d{2}\b", 2011),
    (r"\bAMD FX\(tm\)-\d3\d{2}\b|\bAMD FX-\d3\d{2}\b", 2012),
    (r"\bAMD FX\(tm\)-9\d{3}\b|\bAMD FX-9\d{3}\b", 2013),
    (r"\bAMD Athlon 2\d{2}GE\b", 2018),
    (r"\bAMD Athlon 3\d{3}G\b", 2019),
    (r"\bAMD Athlon (?:Silver|Gold) \d{4}", 2020),
    (r"\bRyzen AI\b", 2024),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE), y) for p, y in _PATTERNS)

# Ryzen series (first digit of the model number) -> year; mobile parts of a series often a year later.
_RYZEN = {1: 2017, 2: 2018, 3: 2019, 4: 2020, 5: 2020, 6: 2022, 7: 2022, 8: 2024, 9: 2024}
_RYZEN_MOBILE = {5: 2021, 7: 2023}

_CORE_I = re.compile(r"\bi[3579]-(\d{3,5})([A-Z]{0,2}\d?)\b")
_CORE_I_FIRST = re.compile(r"\bCore\(TM\) i([3579]) CPU\s+(?:[A-Z]\s+)?(\d{3})\b")
_GEN_PREFIX = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th) Gen Intel", re.IGNORECASE)
_CORE2_RE = re.compile(r"\bCore\(TM\)2\b.*?\b([A-Z]{1,2})(\d)\d{2,3}\b")
_RYZEN_RE = re.compile(
    r"\bRyzen\s+(?:Threadripper\s+(?:PRO\s+)?)?(?:\d\s+)?(?:PRO\s+)?(\d)(\d{3})([A-Z]*)\b", re.I
)


def _core_i(model: str) -> int | None:
    m = _GEN_PREFIX.search(model)  # "12th Gen Intel(R) Core(TM) i5-1235U"
    if m:
        return _INTEL_CORE_GEN.get(int(m.group(1)))
    m = _CORE_I_FIRST.search(model)
    if m:  # first generation (Nehalem/Westmere): i7-920 in 2008, the rest 2010
        return 2008 if m.group(1) == "7" and m.group(2).startswith("9") else 2010
    m = _CORE_I.search(model)
    if not m:
        return None
    digits = m.group(1)
    if len(digits) == 3:
        return 2010
    # 5 digits (desktop 10400, 12400) and 4 digits starting with 1 (mobile 1065G7, 1235U) carry a
    # two-digit generation; other 4-digit numbers (2400, 8250U) a one-digit one.
    gen = int(digits[:2]) if len(digits) == 5 or digits.startswith("1") else int(digits[0])
    return _INTEL_CORE_GEN.get(gen)


def launch_year(model: str | None) -> int | None:
    """The launch year of the CPU called ``model`` (as /proc/cpuinfo or Win32_Processor name it)."""
    if not model:
        return None
    text = " ".join(model.split())
    year = _core_i(text)
    if year:
        return year
    m = _CORE2_RE.search(text)
    if m:
        letters = m.group(1)
        return _CORE2.get(letters if letters == "SU" else letters[-1] + m.group(2), 2007)
    for pattern, year in _COMPILED:
        if pattern.search(text):
            return year
    m = _RYZEN_RE.search(text)
    if m:
        series, suffix = int(m.group(1)), m.group(3).upper()
        if suffix[:1] in ("U", "H") and series in _RYZEN_MOBILE:
            return _RYZEN_MOBILE[series]
        return _RYZEN.get(series)
    return None


def max_mhz_from_model(model: str | None) -> float | None:
    """The rated clock in a model string such as "Intel(R) Core(TM) i5-2400 CPU @ 3.10GHz"."""
    if not model:
        return None
    m = re.search(r"@\s*(\d+(?:\.\d+)?)\s*GHz", model, re.IGNORECASE)
    return round(float(m.group(1)) * 1000, 1) if m else None
