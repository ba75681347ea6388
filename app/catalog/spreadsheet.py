"""Catalog spreadsheets: the import template, reading a draft from XLSX or CSV, exporting a catalog.

Layout: one row per data item (信息项). The entry's columns (目录代码 … 涉密属性) are repeated on
each of its rows, or left blank on the rows after the first; rows with the same 目录代码 form one
entry, in the order they appear. Columns are found by their Chinese header in row 1, in any order;
unknown columns (e.g. 提供部门 in an export) are ignored, so an exported file imports again.
Row numbers in error reports are the spreadsheet's own (header = row 1).
CSV: UTF-8 (with or without BOM) or GB18030 (what Excel saves on Chinese Windows); exports are
UTF-8 with BOM so that Excel opens them correctly.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from app.catalog.flows import CatalogEntryCreate, check_art15
from app.catalog.models import FORMATS, ITEM_TYPES, SHARE_METHOD_ZH, SHARE_TYPE_ZH, UPDATE_CYCLES, ShareType
from app.core.cells import safe_cell, unquote_cell
from app.core.errors import InvalidInput

# (key, header); the entry's columns, then the item's.
ENTRY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("code", "目录代码"), ("name", "资源名称"), ("summary", "资源摘要"), ("category", "资源分类"),
    ("format", "资源格式"), ("share_type", "共享类型"), ("share_conditions", "共享条件"),
    ("share_methods", "共享方式"), ("legal_basis", "共享依据"), ("open_to_public", "是否向社会开放"),
    ("open_conditions", "开放条件"), ("update_cycle", "更新周期"), ("classification", "涉密属性"),
)
ITEM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("item_name", "信息项名称"), ("item_type", "信息项类型"), ("item_length", "信息项长度"), ("item_note", "信息项说明"),
)
COLUMNS = ENTRY_COLUMNS + ITEM_COLUMNS
EXPORT_COLUMNS = (("department_name", "提供部门"), ("department_code", "提供部门代码")) + COLUMNS
REQUIRED_HEADERS = ("目录代码", "资源名称", "资源摘要", "资源格式", "共享类型", "更新周期", "信息项名称")
HEADER_TO_KEY = {h: k for k, h in COLUMNS}
KEY_TO_HEADER = {k: h for k, h in EXPORT_COLUMNS}
SHARE_TYPE_BY_ZH = {v: k.value for k, v in SHARE_TYPE_ZH.items()}
METHOD_BY_ZH = {v: k for k, v in SHARE_METHOD_ZH.items()}
MAX_ROWS = 20000
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_ERRORS = 200
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

EXAMPLE_ROWS: tuple[dict[str, Any], ...] = (
    {"code": "410000-xxx-0001", "name": "示例：行政许可办理信息", "summary": "本部门行政许可事项的办理结果信息",
     "category": "部门信息资源/行政许可", "format": "数据库", "share_type": "无条件共享", "share_conditions": "",
     "share_methods": "接口、库表", "legal_basis": "", "open_to_public": "否", "open_conditions": "",
     "update_cycle": "每日", "classification": "非涉密", "item_name": "许可证号", "item_type": "字符型",
     "item_length": 32, "item_note": ""},
    {"code": "410000-xxx-0001", "item_name": "持证单位统一社会信用代码", "item_type": "字符型", "item_length": 18,
     "item_note": "法人标识（第十条）"},
    {"code": "410000-xxx-0001", "item_name": "发证日期", "item_type": "日期型"},
)


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def public(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ParsedEntry:
    """One entry read from the sheet: its data, the rows it came from."""

    data: CatalogEntryCreate
    first_row: int
    rows: list[int] = field(default_factory=list)


# ---- reading ------------------------------------------------------------------------------------


def read_rows(content: bytes, filename: str) -> list[list[Any]]:
    """Return the sheet's rows (first = header) from XLSX or CSV bytes; refuse what cannot be read."""
    if not content:
        raise InvalidInput("上传的文件为空", code="spreadsheet_empty")
    name = filename.lower()
    if content[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        return _read_xlsx(content)
    if name.endswith((".csv", ".txt")) or not name:
        return _read_csv(content)
    raise InvalidInput("只支持 .xlsx 或 .csv 文件（旧版 .xls 请先另存为 .xlsx）", code="spreadsheet_type_unsupported")


def _read_xlsx(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # A small upload may unpack to gigabytes (zip bomb): check the sizes it declares first.
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise InvalidInput("无法读取该 XLSX 文件，请确认文件未损坏且为 Excel 2007 以上格式",
                           code="spreadsheet_unreadable") from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise InvalidInput("表格内容过大，请分批导入", code="spreadsheet_too_large")
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InvalidInput("无法读取该 XLSX 文件，请确认文件未损坏且为 Excel 2007 以上格式",
                           code="spreadsheet_unreadable") from exc
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(list(values))
            if len(rows) > MAX_ROWS + 1:
                raise InvalidInput(f"行数超过上限 {MAX_ROWS}，请分批导入", code="spreadsheet_too_large")
        return rows
    finally:
        workbook.close()


def _read_csv(content: bytes) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise InvalidInput("无法识别 CSV 文件的编码，请另存为 UTF-8", code="spreadsheet_unreadable")
    try:
        rows = [list(r) for r in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise InvalidInput(f"CSV 格式有误：{exc}", code="spreadsheet_unreadable") from exc
    if len(rows) > MAX_ROWS + 1:
        raise InvalidInput(f"行数超过上限 {MAX_ROWS}，请分批导入", code="spreadsheet_too_large")
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return unquote_cell(text)  # a file this service exported quoted what looked like a formula


def _split_list(value: str) -> list[str]:
    for sep in ("、", "，", ",", "；", ";", "/"):
        value = value.replace(sep, " ")
    return [v for v in value.split() if v]


def parse(content: bytes, filename: str) -> tuple[list[ParsedEntry], list[dict[str, Any]]]:
    """Read entries from a catalog spreadsheet; raise InvalidInput listing every bad row, or return
    the entries and the Art. 15 warnings (a draft may hold them; submission will not)."""
    rows = read_rows(content, filename)
    while rows and not any(_text(v) for v in rows[0]):
        rows.pop(0)
    if not rows:
        raise InvalidInput("文件中没有表头行", code="spreadsheet_empty")
    headers = [_text(h) for h in rows[0]]
    missing = [h for h in REQUIRED_HEADERS if h not in headers]
    if missing:
        raise InvalidInput(f"缺少必需的列：{'、'.join(missing)}（请使用下载的模板）", code="spreadsheet_headers_missing",
                           extra={"errors": [{"row": 1, "column": h, "message": "缺少该列"} for h in missing]})
    index = {HEADER_TO_KEY[h]: i for i, h in enumerate(headers) if h in HEADER_TO_KEY}
    errors: list[RowError] = []
    groups: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for offset, raw in enumerate(rows[1:]):
        number = offset + 2
        values = {k: _text(raw[i]) if i < len(raw) else "" for k, i in index.items()}
        if not any(values.values()):
            continue
        code = values.get("code", "")
        if not code:
            errors.append(RowError(number, "目录代码", "目录代码不能为空"))
            continue
        group = groups.get(code)
        if group is None:
            group = groups[code] = {"first_row": number, "rows": [], "fields": {}, "items": []}
            order.append(code)
        group["rows"].append(number)
        for key, header in ENTRY_COLUMNS:
            value = values.get(key, "")
            if not value:
                continue
            seen = group["fields"].get(key)
            if seen is None:
                group["fields"][key] = (value, number)
            elif seen[0] != value:
                errors.append(RowError(number, header, f"与第 {seen[1]} 行同一目录代码的“{header}”不一致"))
        reported = len(errors)
        item = _item(values, number, errors)
        if item is not None:
            group["items"].append((item, number))
        elif len(errors) > reported:
            group["bad_items"] = True
    entries: list[ParsedEntry] = []
    for code in order:
        entry = _entry(code, groups[code], errors)
        if entry is not None:
            entries.append(entry)
    if not entries and not errors:
        raise InvalidInput("文件中没有目录条目", code="spreadsheet_empty")
    if errors:
        errors.sort(key=lambda e: e.row)
        shown = errors[:MAX_ERRORS]
        summary = "；".join(f"第 {e.row} 行 {e.column}：{e.message}" for e in shown[:10])
        more = f"……共 {len(errors)} 处错误" if len(errors) > 10 else ""
        raise InvalidInput(f"表格有误，未导入任何条目：{summary}{more}", code="spreadsheet_invalid",
                           extra={"errors": [e.public() for e in shown], "error_count": len(errors)})
    warnings = []
    for entry in entries:
        for problem in check_art15(entry.data):
            warnings.append({"row": entry.first_row, "code": entry.data.code, "message": problem["message"]})
    return entries, warnings


def _item(values: dict[str, str], number: int, errors: list[RowError]) -> dict[str, Any] | None:
    name = values.get("item_name", "")
    extra = [values.get(k, "") for k in ("item_type", "item_length", "item_note")]
    if not name:
        if any(extra):
            errors.append(RowError(number, "信息项名称", "填写了信息项的类型、长度或说明，但没有信息项名称"))
        return None
    item: dict[str, Any] = {"name": name, "type": values.get("item_type") or "字符型",
                            "note": values.get("item_note") or None}
    if item["type"] not in ITEM_TYPES:
        errors.append(RowError(number, "信息项类型", f"必须是以下之一：{'、'.join(ITEM_TYPES)}"))
        return None
    length = values.get("item_length", "")
    if length:
        try:
            item["length"] = int(float(length))
        except ValueError:
            errors.append(RowError(number, "信息项长度", "必须是正整数"))
            return None
        if not 1 <= item["length"] <= 100000:
            errors.append(RowError(number, "信息项长度", "必须在 1 到 100000 之间"))
            return None
    return item


def _entry(code: str, group: dict[str, Any], errors: list[RowError]) -> ParsedEntry | None:
    fields = {k: v for k, (v, _) in group["fields"].items()}
    row_of = {k: n for k, (_, n) in group["fields"].items()}
    first = group["first_row"]
    before = len(errors)
    data: dict[str, Any] = {"code": code, **{k: v for k, v in fields.items() if k not in (
        "share_type", "share_methods", "open_to_public")}}
    share_type = fields.get("share_type", "")
    if share_type in SHARE_TYPE_BY_ZH:
        data["share_type"] = SHARE_TYPE_BY_ZH[share_type]
    elif share_type in {t.value for t in ShareType}:
        data["share_type"] = share_type
    else:
        errors.append(RowError(row_of.get("share_type", first), "共享类型",
                               f"必须是以下之一：{'、'.join(SHARE_TYPE_ZH.values())}"))
    methods = []
    for m in _split_list(fields.get("share_methods", "")):
        if m in METHOD_BY_ZH:
            methods.append(METHOD_BY_ZH[m])
        elif m in SHARE_METHOD_ZH:
            methods.append(m)
        else:
            errors.append(RowError(row_of.get("share_methods", first), "共享方式",
                                   f"“{m}”不是可选的共享方式（接口、库表、文件）"))
    data["share_methods"] = methods
    public = fields.get("open_to_public", "否")
    if public not in ("是", "否"):
        errors.append(RowError(row_of.get("open_to_public", first), "是否向社会开放", "必须填“是”或“否”"))
    data["open_to_public"] = public == "是"
    data.setdefault("classification", "非涉密")
    names: dict[str, int] = {}
    for item, number in group["items"]:
        if item["name"] in names:
            errors.append(RowError(number, "信息项名称", f"信息项“{item['name']}”与第 {names[item['name']]} 行重复"))
        names.setdefault(item["name"], number)
    data["items"] = [i for i, _ in group["items"]]
    if not data["items"] and not group.get("bad_items"):
        errors.append(RowError(first, "信息项名称", f"目录条目 {code} 至少要有一个信息项"))
    if len(errors) > before or group.get("bad_items"):
        return None
    try:
        parsed = CatalogEntryCreate.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            key = loc[0] if loc else ""
            header = KEY_TO_HEADER.get(key, "")
            row = row_of.get(key, first)
            if key == "items" and len(loc) > 1 and loc[1].isdigit():
                row = group["items"][int(loc[1])][1]
                header = "信息项名称"
            errors.append(RowError(row, header or "目录条目", _message(err)))
        return None
    return ParsedEntry(parsed, first, group["rows"])


def _message(err: Any) -> str:
    from app.main import _zh_validation

    return _zh_validation(dict(err))


# ---- writing ------------------------------------------------------------------------------------


def entry_rows(entries: list[dict[str, Any]], departments: dict[str, tuple[str, str]] | None = None
               ) -> list[dict[str, Any]]:
    """Flatten entries (core metadata dicts) into one row per data item, entry columns on every row."""
    rows = []
    for e in entries:
        dept_name, dept_code = (departments or {}).get(e["code"], ("", ""))
        base = {
            "department_name": dept_name, "department_code": dept_code,
            "code": e["code"], "name": e["name"], "summary": e["summary"], "category": e.get("category") or "",
            "format": e["format"], "share_type": SHARE_TYPE_ZH[ShareType(e["share_type"])],
            "share_conditions": e.get("share_conditions") or "",
            "share_methods": "、".join(SHARE_METHOD_ZH.get(m, m) for m in e.get("share_methods") or []),
            "legal_basis": e.get("legal_basis") or "", "open_to_public": "是" if e.get("open_to_public") else "否",
            "open_conditions": e.get("open_conditions") or "", "update_cycle": e["update_cycle"],
            "classification": e.get("classification") or "非涉密",
        }
        for item in e.get("items") or [{}]:
            rows.append({**base, "item_name": item.get("name", ""), "item_type": item.get("type", ""),
                         "item_length": item.get("length") if item.get("length") is not None else "",
                         "item_note": item.get("note") or ""})
    return rows


def to_csv(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...] = EXPORT_COLUMNS) -> bytes:
    """Write rows as CSV, UTF-8 with BOM."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([h for _, h in columns])
    for r in rows:
        writer.writerow([safe_cell(r.get(k, "")) for k, _ in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...] = EXPORT_COLUMNS,
            title: str = "政务数据资源目录") -> bytes:
    """Write rows as an XLSX workbook with a header row and a sheet of allowed values."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append([h for _, h in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for r in rows:
        sheet.append([_xlsx_text(safe_cell(r.get(k, ""))) for k, _ in columns])
    for i, (_, header) in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = max(10, len(header) * 2 + 4)
    sheet.freeze_panes = "A2"
    help_sheet = workbook.create_sheet("填写说明")
    for line in template_help():
        help_sheet.append(line)
    help_sheet.column_dimensions["A"].width = 18
    help_sheet.column_dimensions["B"].width = 90
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


def _xlsx_text(value: Any) -> Any:
    # XLSX is XML: control characters other than tab and newlines cannot be written (openpyxl raises
    # IllegalCharacterError), yet stored text may hold them (typed in, or imported from CSV). Drop them.
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def template_help() -> list[tuple[str, str]]:
    """Return the template's instructions, one (column, rule) per line."""
    return [
        ("列", "填写要求"),
        ("整体", "每个信息项一行；同一目录条目的多行使用相同的目录代码，条目信息可只在第一行填写。"),
        ("目录代码", "必填；字母、数字和 - _ . /，2–64 位；全省唯一。"),
        ("资源名称 / 资源摘要", "必填。"),
        ("资源格式", "必填：" + "、".join(FORMATS)),
        ("共享类型", "必填：" + "、".join(SHARE_TYPE_ZH.values())
         + "。有条件共享、不予共享须填写共享依据（法律法规或国家有关规定），有条件共享须写明共享条件（第十五条）。"),
        ("共享方式", "可多选，用顿号分隔：接口、库表、文件"),
        ("是否向社会开放", "是 / 否，默认否"),
        ("更新周期", "必填：" + "、".join(UPDATE_CYCLES)),
        ("涉密属性", "只能为“非涉密”：涉密数据不得编入目录。"),
        ("信息项类型", "、".join(ITEM_TYPES) + "，默认字符型"),
        ("信息项长度", "正整数，可空"),
    ]


def template_rows() -> list[dict[str, Any]]:
    """Return the example rows of the import template."""
    return [dict(r) for r in EXAMPLE_ROWS]
