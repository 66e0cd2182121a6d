"""Evidence and labels of the replacement score, in Vietnamese and English.

Evidence is stored as a code with parameters and rendered in the reader's language when shown.
"""

from __future__ import annotations

from typing import Any

from collector.models.assets import ScoreCategory

# Every evidence line is a code with parameters, rendered in the reader's language.
MESSAGES: dict[str, tuple[str, str]] = {
    "no_facts": ("not known: the agent did not report {what}", "chưa rõ: tác tử chưa gửi {what}"),
    "disk_overall_failed": (
        "{disk}: SMART overall health self-assessment FAILED",
        "{disk}: SMART tự đánh giá tình trạng: HỎNG",
    ),
    "disk_nvme_critical": (
        "{disk}: NVMe critical warning {value}",
        "{disk}: cảnh báo nghiêm trọng NVMe {value}",
    ),
    "disk_attr_failing": (
        "{disk}: SMART attribute {id} {name} at or below its threshold ({when})",
        "{disk}: thuộc tính SMART {id} {name} đã chạm ngưỡng hỏng ({when})",
    ),
    "disk_predict_failure": ("{disk}: the disk predicts its own failure", "{disk}: ổ cứng tự báo sắp hỏng"),
    "disk_health_status": ("{disk}: Windows reports the disk {value}", "{disk}: Windows báo ổ cứng {value}"),
    "disk_attr_raw": (
        "{disk}: SMART {id} {name} raw = {value}",
        "{disk}: SMART {id} {name} giá trị thô = {value}",
    ),
    "disk_media_errors": ("{disk}: {value} NVMe media errors", "{disk}: {value} lỗi phương tiện NVMe"),
    "disk_io_errors": (
        "{disk}: {value} uncorrected read/write errors",
        "{disk}: {value} lỗi đọc/ghi không sửa được",
    ),
    "disk_wear": ("{disk}: {value}% of rated life used", "{disk}: đã dùng {value}% tuổi thọ định mức"),
    "disk_ok": ("{disk}: no SMART warning", "{disk}: SMART không có cảnh báo"),
    "disk_unreadable": ("{disk}: SMART not readable ({why})", "{disk}: không đọc được SMART ({why})"),
    "battery_ratio": (
        "{name}: holds {percent}% of its design capacity ({full} of {design} Wh, {cycles} cycles)",
        "{name}: pin còn {percent}% dung lượng thiết kế ({full}/{design} Wh, {cycles} lần sạc)",
    ),
    "no_battery": ("no battery (not a laptop)", "không có pin (không phải máy xách tay)"),
    "age_purchase": (
        "{years} years old (purchased {date})",
        "{years} năm tuổi (mua ngày {date})",
    ),
    "age_bios": (
        "about {years} years old (BIOS dated {date}; no purchase date recorded)",
        "khoảng {years} năm tuổi (BIOS ngày {date}; chưa có ngày mua)",
    ),
    "age_cpu": (
        "about {years} years old (CPU launched in {year}; no purchase date recorded)",
        "khoảng {years} năm tuổi (CPU ra mắt năm {year}; chưa có ngày mua)",
    ),
    "os_ended": ("{text}", "{text}"),
    "os_supported": ("{text}", "{text}"),
    "os_unknown": ("OS support not known: {text}", "chưa rõ thời hạn hỗ trợ hệ điều hành: {text}"),
    "win11_no": ("cannot run Windows 11: {text}", "không đáp ứng yêu cầu Windows 11: {text}"),
    "win11_yes": ("can be upgraded to Windows 11: {text}", "có thể nâng cấp lên Windows 11: {text}"),
    "win11_unknown": ("Windows 11 eligibility not known: {text}", "chưa rõ khả năng lên Windows 11: {text}"),
    "os_upgrade_possible": (
        "out of support, but an upgrade is possible",
        "hết hỗ trợ nhưng có thể nâng cấp hệ điều hành",
    ),
    "os_no_upgrade": (
        "out of support and the hardware cannot run a supported version",
        "hết hỗ trợ và phần cứng không chạy được phiên bản còn hỗ trợ",
    ),
    "os_ending_no_upgrade": (
        "support ends within {days} days and the hardware cannot run Windows 11",
        "hết hỗ trợ trong {days} ngày tới và phần cứng không chạy được Windows 11",
    ),
    "ram": ("{gb} GB of RAM", "bộ nhớ (RAM) {gb} GB"),
    "ram_low": ("only {gb} GB of RAM (minimum {min} GB)", "bộ nhớ (RAM) chỉ {gb} GB (tối thiểu {min} GB)"),
    "ram_below": (
        "{gb} GB of RAM (recommended {min} GB)",
        "bộ nhớ (RAM) {gb} GB (khuyến nghị {min} GB)",
    ),
    "hdd_system": ("the system disk {disk} is a hard disk (HDD)", "ổ hệ thống {disk} là ổ cứng cơ (HDD)"),
    "free_low": (
        "{mount}: only {free} GB free ({percent}%)",
        "{mount}: chỉ còn trống {free} GB ({percent}%)",
    ),
    "shutdowns": (
        "{count} unexpected shutdowns in the last {days} days",
        "{count} lần tắt máy đột ngột trong {days} ngày qua",
    ),
    "shutdowns_since": (
        "{count} unexpected shutdowns since {since}",
        "{count} lần tắt máy đột ngột kể từ {since}",
    ),
    "critical": (
        "replace now: {what}",
        "thay thế ngay: {what}",
    ),
}

FACTOR_LABELS: dict[str, tuple[str, str]] = {
    "storage": ("Storage health", "Tình trạng ổ cứng"),
    "os_support": ("OS support", "Hỗ trợ hệ điều hành"),
    "age": ("Age", "Tuổi thiết bị"),
    "battery": ("Battery health", "Tình trạng pin"),
    "adequacy": ("Adequacy", "Cấu hình đáp ứng"),
    "instability": ("Instability", "Độ ổn định"),
}

CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    ScoreCategory.REPLACE_NOW: ("replace now", "thay thế ngay"),
    ScoreCategory.PLAN_12_MONTHS: ("plan within 12 months", "thay thế trong 12 tháng"),
    ScoreCategory.MONITOR: ("monitor", "theo dõi"),
    ScoreCategory.HEALTHY: ("healthy", "tốt"),
}

WHAT_LABELS: dict[str, tuple[str, str]] = {
    "disks": ("disk SMART data", "dữ liệu SMART ổ cứng"),
    "os": ("the operating system", "hệ điều hành"),
    "age": ("a purchase date, BIOS date or CPU model", "ngày mua, ngày BIOS hay mẫu CPU"),
    "memory": ("memory, disks and free space", "bộ nhớ, ổ cứng và dung lượng trống"),
    "health": ("shutdown records", "nhật ký tắt máy"),
}


def _idx(lang: str) -> int:
    return 1 if lang == "vi" else 0


def render_evidence(item: dict[str, Any], lang: str = "vi") -> str:
    """One evidence line in ``lang`` (vi or en)."""
    pair = MESSAGES.get(item.get("code", ""))
    params = dict(item.get("params") or {})
    # Decimals as the language writes them: 18,5 Wh in Vietnamese.
    params = {k: _decimal(v, lang) if isinstance(v, float) else v for k, v in params.items()}
    if params.get("what") in WHAT_LABELS:
        params["what"] = WHAT_LABELS[params["what"]][_idx(lang)]
    if pair is None:
        return str(item.get("text") or item.get("code", ""))
    try:
        return pair[_idx(lang)].format(**params)
    except (KeyError, IndexError, ValueError):
        return pair[0].format_map(_Missing(params))


def _decimal(value: float, lang: str) -> str:
    from collector.web.i18n import format_number

    return format_number(value, lang)


class _Missing(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "?"


def factor_label(name: str, lang: str = "vi") -> str:
    return FACTOR_LABELS.get(name, (name, name))[_idx(lang)]


def category_label(category: str, lang: str = "vi") -> str:
    return CATEGORY_LABELS.get(category, (category, category))[_idx(lang)]
