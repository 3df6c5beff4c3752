"""The ministry's annual plan text (「法務部 106 年度施政目標與重點」) read into a seed-shaped dict.

The text has a title and three parts: 壹 (goals: 「一、…」 headings with 「- (一) …」 items), 貳 (the KPI
table) and 參 (the programme table). Tables are tab-separated; at a page break the header line(s) repeat after a
blank line, and the first row after a repeated header may continue the cells of the row before the break.

Rules the parser follows (a reader checking the result should accept each):

- Part 參: a row right after a repeated header continues the row above when its 計畫類別 cell is empty, or when
  the row above ended with an incomplete category (「社會」) that this row completes (「發展」). Any other row
  starts a new programme; a blank 工作計畫名稱 repeats the work plan above. A continuation row anywhere else is a
  problem. Cells are joined as written, with a space only where a digit or Latin letter meets the join (「3 年 6」
  + 「個月」); a continued content cell that begins a new item (「六、…」) begins a new line.
- Content: every <p> paragraph, and every item 「二、」 written after a space, is a line of its own.
- Phase: 「(1/3)」 or 「（1/4）」 in a name; 「（2 年期）」 after it must repeat the total. first_year is
  plan year − index + 1; without a phase the plan year, widened to the years of the dated steps.
- Dated steps (milestones): a content item, a sentence, or a clause after 「，」 that begins with a date phrase
  (「106 年」「106 年度」「106 年 1 月至 3 月」「108 至 109 年」), optionally after 預定/預計. A date with a day
  (「105 年 5 月 4 日…」) is an event that happened, not a step. The step's name is the rest of the clause with the
  lead words 將 / 重點工作包括 / 工作重點如下： removed. A step 「106 年度分 5 項子計畫」 gives each sub-plan a step
  「106 年度執行」 instead of a programme step.
- Sub-plans: content items 「計畫 N：…」; an agency before 「…」 is the agency, the quoted text the name; what
  follows a dash 「－」 is the description (without the final 。), other text after the name is the description
  as written.
- KPI direction: at_most when the target says 以下/以內/不超過, when the unit is a time taken (日, 天), or when the
  measure is a relative deviation from an allotted amount (「(編報數 - 核列數) ÷ 核列數」: a subtraction divided by
  its subtrahend); otherwise at_least.
- KPI links: split on 「、」 with spaces removed; a link that is not exactly a KPI name becomes an alias of the
  KPI whose folded name is closest.
- Systems: see :func:`infer_systems`.

Problems carry the line they are about: the title's line for a wrong year (line 1 when there is no title), the
part heading for a part without a table, the last line of the file for a missing part 貳 or 參, and the first row
of a programme for what is wrong with the programme as a whole (category, phase, KPI links).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date

from tracker.domain.names import closest, fold
from tracker.domain.phase import Phase, PhaseError, parse_phase
from tracker.domain.roc import from_roc_year, is_roc_year, month_end

SYSTEMS = [
    {"code": "prosecution", "name": "檢察"},
    {"code": "investigation", "name": "調查"},
    {"code": "corrections", "name": "矯正"},
    {"code": "enforcement", "name": "行政執行"},
    {"code": "integrity", "name": "廉政"},
    {"code": "ministry", "name": "部本部"},
]
_SYSTEM_ORDER = [s["name"] for s in SYSTEMS]
CATEGORIES = ("公共建設", "科技發展", "社會發展", "其它")

_NUMERALS = "一二三四五六七八九十"
_TITLE = re.compile(r"^(?P<title>.*?(?P<year>\d{1,3})\s*年度施政目標與重點.*)$")
_PART = re.compile(r"^\s*(壹|貳|參|肆|伍|陸)\s*、")
_GOAL_HEAD = re.compile(rf"^([{_NUMERALS}]+)\s*、\s*(.+)$")
_GOAL_ITEM = re.compile(rf"^[-•]\s*[(（]\s*[{_NUMERALS}]+\s*[)）]\s*(.*)$")
_KPI_GOAL = re.compile(rf"^([{_NUMERALS}]+)\s*、?\s*(.+)$")
_KPI_NO = re.compile(r"^(\d+)\s*、?\s*(.+)$")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_FRACTION = re.compile(r"[（(]\s*(\d+)\s*/\s*(\d+)\s*[)）]")
_YEARS_LONG = re.compile(r"[（(]\s*(\d+)\s*年期\s*[)）]")
_ITEM_MARK = re.compile(rf"^(?:[{_NUMERALS}]+\s*、|[(（]\s*[{_NUMERALS}]+\s*[)）])")
_ITEM_SPLIT = re.compile(rf"\s+(?=[{_NUMERALS}]+、)")
_P_TAG = re.compile(r"</?p\s*>", re.IGNORECASE)
_SUB_PLAN = re.compile(r"^計畫\s*(\d+)\s*[:：]\s*(.*)$")
_DASHES = "－-—–"
#: A KPI link written differently becomes an alias of the closest KPI only when this alike (difflib ratio, folded).
_ALIAS_RATIO = 0.8
_AGENCY = re.compile(r"(?:署|局|院|處|所|站|部|會|中心)$")

KPI_HEADER_1 = ["關鍵策略目標", "關鍵績效指標"]
KPI_HEADER_2 = ["", "關鍵績效指標", "評估體制", "評估方式", "衡量標準", "年度目標值", "與中長程個案計畫關聯"]
PROGRAMME_HEADER = ["工作計畫名稱", "重要計畫項目", "計畫類別", "實施內容", "與 KPI 關聯"]


@dataclass(frozen=True)
class PlanProblem:
    """One thing wrong with the text: where it is and what is wrong."""

    line: int
    text: str
    message: str


@dataclass(frozen=True)
class PlanText:
    """The plan text read: its year, title, goals, the seed-shaped data and every problem found."""

    year_roc: int
    title: str
    goals: list[dict]
    data: dict
    problems: list[PlanProblem]


# --------------------------------------------------------------------------------------------------- small rules

def numeral_value(text: str) -> int | None:
    """「一」…「九十九」 as a number; None when the text is not a Chinese numeral."""
    if not text or any(ch not in _NUMERALS for ch in text):
        return None
    digits = {ch: i + 1 for i, ch in enumerate(_NUMERALS)}
    if "十" not in text:
        return digits[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if "十" in ones or len(tens) > 1 or len(ones) > 1:
        return None
    value = (digits[tens] if tens else 1) * 10 + (digits[ones] if ones else 0)
    return value if tens != "十" else None


def join_cells(before: str, after: str) -> str:
    """A cell split by a page break joined again: as written, with a space where a digit or Latin letter meets."""
    if not before:
        return after
    if not after:
        return before
    a, b = before[-1], after[0]
    if a.isspace() or b.isspace():
        return before + after
    if (a.isascii() and a.isalnum()) or (b.isascii() and b.isalnum()):
        return before + " " + after
    return before + after


def _paragraphs(cell: str) -> list[str]:
    """A content cell fragment as its <p> paragraphs (one paragraph when it has none)."""
    if _P_TAG.search(cell):
        return [p.strip() for p in _P_TAG.split(cell) if p.strip()]
    return [cell.strip()] if cell.strip() else []


def _join_paragraphs(before: list[str], after: list[str]) -> list[str]:
    """Paragraphs of a content cell continued after a page break."""
    if not before or not after:
        return before + after
    if _ITEM_MARK.match(after[0]):
        return before + after
    return before[:-1] + [join_cells(before[-1], after[0])] + after[1:]


def content_lines(paragraphs: list[str]) -> list[str]:
    """The lines of a content cell: each paragraph, split again where an item 「二、」 follows a space."""
    lines: list[str] = []
    for paragraph in paragraphs:
        lines.extend(part.strip() for part in _ITEM_SPLIT.split(paragraph) if part.strip())
    return lines


def _strip_item_mark(line: str) -> str:
    return _ITEM_MARK.sub("", line, count=1).strip()


def _phase_in(text: str) -> tuple[Phase | None, str | None]:
    """The phase fraction in a text and a problem message when it cannot be."""
    try:
        return parse_phase(text), None
    except PhaseError as exc:
        return None, str(exc)


def _check_years_long(text: str, phase: Phase | None) -> str | None:
    """「（2 年期）」 after a fraction must repeat its total."""
    m = _YEARS_LONG.search(text)
    if m and phase is not None and int(m.group(1)) != phase.total:
        return f"期別 {phase.index}/{phase.total} 與「{m.group(0)}」不符"
    return None


def clean_name(written: str) -> str:
    """A programme or sub-plan name without its phase fraction, 年期 note and outer 「」."""
    name = _YEARS_LONG.sub("", _FRACTION.sub("", written)).strip()
    if name.startswith("「") and name.endswith("」") and "」" not in name[1:-1]:
        name = name[1:-1].strip()
    return name


# --------------------------------------------------------------------------------------------------- systems

#: Agency words in a programme's name and the system they name (order: the systems' order).
_NAME_WORDS = (
    ("檢察", "檢察"), ("地檢署", "檢察"),
    ("調查局", "調查"), ("調查站", "調查"), ("調查處", "調查"),
    ("矯正", "矯正"), ("監獄", "矯正"), ("監所", "矯正"), ("獄政", "矯正"),
    ("行政執行", "行政執行"),
    ("廉政", "廉政"),
)
#: Work plans that belong to one system.
_WORK_PLANS = {
    "廉政業務": "廉政", "執行業務": "行政執行", "改善監所計畫": "矯正", "矯正業務": "矯正",
    "檢察機關擴(遷)建計畫": "檢察", "行政執行機關擴(遷)建計畫": "行政執行",
}
_WORK_PLANS_FOLDED = {fold(k): v for k, v in _WORK_PLANS.items()}
#: Agencies named in the content (only agencies, not the fields of work they share names with).
_CONTENT_WORDS = (
    ("檢察署", "檢察"), ("地檢署", "檢察"), ("檢察官", "檢察"), ("檢警調", "檢察"), ("檢、警、調", "檢察"),
    ("調查局", "調查"), ("檢警調", "調查"), ("檢、警、調", "調查"),
    ("矯正署", "矯正"), ("矯正機關", "矯正"), ("監獄", "矯正"),
    ("行政執行署", "行政執行"),
    ("廉政署", "廉政"),
)


def infer_systems(name: str, work_plan: str, content: str) -> list[str]:
    """The systems a programme belongs to: agencies in its name and its work plan, else agencies in its content, else 部本部."""
    found: set[str] = set()
    for word, system in _NAME_WORDS:
        if word in (name or ""):
            found.add(system)
    for part in re.split(r"[、,，]", work_plan or ""):
        system = _WORK_PLANS_FOLDED.get(fold(part))
        if system:
            found.add(system)
    if not found:
        for word, system in _CONTENT_WORDS:
            if word in (content or ""):
                found.add(system)
    if not found:
        return ["部本部"]
    return [s for s in _SYSTEM_ORDER if s in found]


# --------------------------------------------------------------------------------------------------- dated steps

_DATE = re.compile(
    r"(?P<lead>(?:預定|預計)\s*)?"
    r"(?P<y1>\d{2,3})\s*"
    r"(?:(?:至|到)\s*(?P<y2>\d{2,3})\s*年度?"
    r"|年度?(?:\s*(?P<m1>\d{1,2})\s*月(?:\s*(?:至|到|~|～)\s*(?:(?P<y3>\d{2,3})\s*年\s*)?(?P<m2>\d{1,2})\s*月)?)?)"
)
_DAY_AFTER = re.compile(r"^\s*\d{1,2}\s*日")
_LEAD_WORDS = re.compile(r"^(?:將|並)?\s*(?:(?:重點工作|工作重點)\s*(?:包括|如下|為)\s*[:：]?)?\s*")
_SUB_PLAN_STEP = re.compile(r"^分\s*\d+\s*項子計畫")
_STEP_BREAK = "。，,；;"


@dataclass
class _Step:
    source: str
    name: str
    start: date
    finish: date
    first: int
    last: int
    sub_plans: bool = False


def _date_step(clause: str) -> _Step | None:
    """A clause that begins with a date phrase as a step; None when it does not, or names a day (an event)."""
    m = _DATE.match(clause)
    if not m:
        return None
    rest = clause[m.end():]
    if _DAY_AFTER.match(rest):
        return None
    y1 = int(m.group("y1"))
    try:
        if m.group("y2"):
            y2 = int(m.group("y2"))
            start, finish = date(from_roc_year(y1), 1, 1), date(from_roc_year(y2), 12, 31)
            first, last = y1, y2
        elif m.group("m1"):
            m1 = int(m.group("m1"))
            y2 = int(m.group("y3")) if m.group("y3") else y1
            m2 = int(m.group("m2")) if m.group("m2") else m1
            start, finish = date(from_roc_year(y1), m1, 1), month_end(from_roc_year(y2), m2)
            first, last = y1, y2
        else:
            start, finish = date(from_roc_year(y1), 1, 1), date(from_roc_year(y1), 12, 31)
            first = last = y1
    except ValueError:
        return None
    if finish < start:
        return None
    source = clause.strip().rstrip(_STEP_BREAK + "：:").strip()
    rest = rest.strip()
    if _SUB_PLAN_STEP.match(rest):
        date_text = clause[m.start("y1"):m.end()].strip()
        sub_source = clause[:m.end()] + _SUB_PLAN_STEP.match(rest).group(0)
        return _Step(sub_source.strip(), f"{date_text}執行", start, finish, first, last, sub_plans=True)
    name = _LEAD_WORDS.sub("", rest, count=1).rstrip(_STEP_BREAK).strip()
    if not name:
        return None
    return _Step(source, name, start, finish, first, last)


def dated_steps(line: str) -> list[_Step]:
    """The dated steps in one content line (an item, its sentences and clauses that begin with a date)."""
    text = _strip_item_mark(line)
    starts = [0] if _date_step(text) else []
    for i, ch in enumerate(text):
        if ch in _STEP_BREAK and i + 1 < len(text):
            j = i + 1
            while j < len(text) and text[j].isspace():
                j += 1
            if j < len(text) and _DATE.match(text, j) and _date_step(text[j:]) is not None:
                starts.append(j)
    steps: list[_Step] = []
    for n, begin in enumerate(starts):
        end = len(text)
        stop = text.find("。", begin)
        if stop >= 0:
            end = stop
        if n + 1 < len(starts):
            end = min(end, starts[n + 1] - 1)
        while end > begin and (text[end - 1] in _STEP_BREAK or text[end - 1].isspace()):
            end -= 1
        step = _date_step(text[begin:end])
        if step is not None:
            steps.append(step)
    return steps


def _milestone(step: _Step) -> dict:
    return {"name": step.name, "source": step.source,
            "planned_start": step.start.isoformat(), "planned_finish": step.finish.isoformat()}


# --------------------------------------------------------------------------------------------------- sub-plans

def _sub_plan(code_no: str, body: str, plan_year: int) -> tuple[dict, str | None]:
    """One 「計畫 N：…」 item as a sub-plan and a problem message, if any."""
    body = body.strip()
    agency: str | None = None
    phase, problem = _phase_in(body)
    problem = problem or _check_years_long(body, phase)
    quote = re.match(r"^(?P<agency>[^「」]*)「(?P<name>[^」]*)」(?P<rest>.*)$", body)
    if quote and (not quote.group("agency").strip() or _AGENCY.search(quote.group("agency").strip())):
        agency = quote.group("agency").strip() or None
        written, rest = quote.group("name"), quote.group("rest")
        if phase is None:
            phase, problem = _phase_in(written)
        rest = _YEARS_LONG.sub("", _FRACTION.sub("", rest, count=1) if not _FRACTION.search(written) else rest)
    else:
        m = _FRACTION.search(body)
        dash = next((i for i, ch in enumerate(body) if ch in _DASHES and (m is None or i >= m.end())), None)
        if m:
            written, rest = body[:m.start()], body[m.end():]
        elif dash is not None:
            written, rest = body[:dash], body[dash:]
        else:
            written, rest = body.rstrip("。"), ""
        rest = _YEARS_LONG.sub("", rest)
    rest = rest.strip()
    if rest and rest[0] in _DASHES:
        description = rest[1:].strip().rstrip("。").strip()
    elif rest.strip("。．.、，, "):
        description = rest
    else:
        description = ""
    first, last = phase.years(plan_year) if phase else (plan_year, plan_year)
    sub = {
        "code": f"計畫{int(code_no)}", "name": clean_name(written) or f"計畫{int(code_no)}",
        "description": description, "agency": agency,
        "phase": {"index": phase.index, "total": phase.total} if phase else None,
        "first_year": first, "last_year": last, "milestones": [],
    }
    return sub, problem


# --------------------------------------------------------------------------------------------------- the parser

@dataclass
class _Row:
    line: int
    cells: list[str]


@dataclass
class _Programme:
    line: int
    text: str
    work_plan: str
    name: str
    category: str
    paragraphs: list[str]
    links: str
    lines: list[int] = field(default_factory=list)


@dataclass
class _Kpi:
    line: int
    text: str
    goal_mark: str
    goal_no: int
    goal: str
    no: int
    name: str
    evaluation_system: int | None
    evaluation_method: str | None
    measure: str
    target_text: str
    categories: str


class _Parser:
    def __init__(self, text: str, year_roc: int | None, filename: str):
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.given_year = year_roc
        self.filename = filename
        self.problems: list[PlanProblem] = []

    def problem(self, line: int, message: str) -> None:
        text = self.lines[line - 1].strip()[:120] if 1 <= line <= len(self.lines) else ""
        self.problems.append(PlanProblem(line, text, message))

    # ---- structure
    def run(self) -> PlanText:
        title, year = self._title()
        parts: dict[str, int] = {}
        for n, raw in enumerate(self.lines, 1):
            m = _PART.match(raw)
            if m and "\t" not in raw and m.group(1) not in parts:
                parts[m.group(1)] = n
        order = sorted(parts.items(), key=lambda kv: kv[1])
        spans: dict[str, tuple[int, int]] = {}
        for i, (name, begin) in enumerate(order):
            end = order[i + 1][1] - 1 if i + 1 < len(order) else len(self.lines)
            spans[name] = (begin + 1, end)
        last = max(len(self.lines), 1)
        goals = self._goals(*spans["壹"]) if "壹" in spans else []
        kpis: list[_Kpi] = []
        programmes: list[_Programme] = []
        if "貳" in spans:
            kpis = self._kpis(*spans["貳"])
        else:
            self.problem(last, "找不到第貳部分「貳、年度關鍵績效指標」")
        if "參" in spans:
            programmes = self._programmes(*spans["參"])
        else:
            self.problem(last, "找不到第參部分「參、年度重要計畫」")
        data = self._data(title, year, kpis, programmes)
        self.problems.sort(key=lambda p: p.line)
        return PlanText(year_roc=year, title=title, goals=goals, data=data, problems=list(self.problems))

    def _title(self) -> tuple[str, int]:
        for n, raw in enumerate(self.lines, 1):
            if not raw.strip():
                continue
            m = _TITLE.match(raw.strip())
            if m and "\t" not in raw:
                year = int(m.group("year"))
                if not is_roc_year(year):
                    self.problem(n, f"標題的年度 {year} 不是合理的民國年")
                if self.given_year is not None and year != self.given_year:
                    self.problem(n, f"標題的年度 {year} 與指定的年度 {self.given_year} 不符")
                return m.group("title").strip(), year
            break
        if self.given_year is None:
            self.problem(1, "找不到標題「法務部 ○○○ 年度施政目標與重點」，無法判斷年度")
            return "", 0
        return f"法務部 {self.given_year} 年度施政目標與重點", self.given_year

    def _goals(self, begin: int, end: int) -> list[dict]:
        goals: list[dict] = []
        for n in range(begin, end + 1):
            line = self.lines[n - 1].strip()
            if not line:
                continue
            head = _GOAL_HEAD.match(line)
            item = _GOAL_ITEM.match(line)
            if head and numeral_value(head.group(1)):
                goals.append({"no": numeral_value(head.group(1)), "name": head.group(2).strip(), "items": []})
            elif item and goals:
                goals[-1]["items"].append(item.group(1).strip())
            elif goals and goals[-1]["items"]:
                goals[-1]["items"][-1] = join_cells(goals[-1]["items"][-1], line)
            else:
                self.problem(n, "施政目標中無法歸屬的內容")
        return goals

    def _table_lines(self, begin: int, end: int, width: int, headers: list[list[str]], part: str) -> list[tuple[str, _Row]]:
        """Classify every non-blank line of a part: header, row, or a problem; notes after 「註」 are text."""
        out: list[tuple[str, _Row]] = []
        header_keys = [[fold(c) for c in h] for h in headers]
        seen_header = False
        notes = False
        for n in range(begin, end + 1):
            raw = self.lines[n - 1]
            if not raw.strip():
                out.append(("blank", _Row(n, [])))
                continue
            if notes and "\t" in raw:
                self.problem(n, "註記之後無法歸屬的表格列")
                continue
            if notes:
                continue
            if "\t" not in raw and raw.strip().startswith("註"):
                notes = True
                continue
            cells = [c.strip() for c in raw.rstrip("\n").split("\t")]
            keys = [fold(c) for c in cells]
            if any(self._is_header(keys, h) for h in header_keys):
                seen_header = True
                out.append(("header", _Row(n, cells)))
                continue
            if "\t" not in raw:
                self.problem(n, "表格中無法歸屬的內容（不是表格列）")
                continue
            if not seen_header:
                self.problem(n, f"表格標題列之前的表格列：第{part}部分缺少表格標題列")
                continue
            if len(cells) != width:
                self.problem(n, f"表格欄數不符：預期 {width} 欄，實得 {len(cells)} 欄")
                continue
            out.append(("row", _Row(n, cells)))
        return out

    @staticmethod
    def _is_header(keys: list[str], header: list[str]) -> bool:
        nonblank = [k for k in keys if k]
        return bool(nonblank) and [k for k in keys[:len(header)] if k] == [h for h in header if h] and \
            all(not k for k in keys[len(header):])

    def _has_header(self, classified: list[tuple[str, _Row]], begin: int, part_title: str) -> bool:
        if not any(kind == "header" for kind, _ in classified):
            self.problem(begin - 1, f"{part_title}沒有表格：找不到表格標題列")
            return False
        return True

    # ---- part 貳
    def _kpis(self, begin: int, end: int) -> list[_Kpi]:
        classified = self._table_lines(begin, end, 7, [KPI_HEADER_1, KPI_HEADER_2], "貳")
        if not self._has_header(classified, begin, "第貳部分"):
            return []
        kpis: list[_Kpi] = []
        goal: tuple[str, int, str] | None = None
        for kind, row in classified:
            if kind != "row":
                continue
            c = row.cells
            text = self.lines[row.line - 1].strip()[:120]
            if not any(c[:4]) and not any(c[5:]) and c[4]:
                if not kpis:
                    self.problem(row.line, "衡量標準的續行之前沒有關鍵績效指標")
                else:
                    kpis[-1].measure = join_cells(kpis[-1].measure, c[4])
                continue
            if c[0]:
                m = _KPI_GOAL.match(c[0])
                value = numeral_value(m.group(1)) if m else None
                if not m or not value:
                    self.problem(row.line, f"關鍵策略目標「{c[0]}」無法辨識：應以「一」「二」…編號開頭")
                    goal = None
                    continue
                goal = (m.group(1), value, m.group(2).strip())
            if goal is None:
                self.problem(row.line, "無法歸屬的內容：這一列沒有所屬的關鍵策略目標")
                continue
            m = _KPI_NO.match(c[1])
            if not m:
                self.problem(row.line, f"關鍵績效指標「{c[1]}」無法辨識：應以編號開頭")
                continue
            evaluation: int | None = None
            if c[2]:
                if not c[2].isdigit():
                    self.problem(row.line, f"評估體制「{c[2]}」應為數字代號")
                    continue
                evaluation = int(c[2])
            if not c[4]:
                self.problem(row.line, "衡量標準為空白")
                continue
            kpis.append(_Kpi(row.line, text, goal[0], goal[1], goal[2], int(m.group(1)), m.group(2).strip(),
                             evaluation, c[3] or None, c[4], c[5], c[6]))
        return kpis

    def _kpi_dict(self, k: _Kpi) -> dict | None:
        number = _NUMBER.search(k.target_text)
        if not number:
            self.problem(k.line, f"年度目標值「{k.target_text}」沒有數字")
            return None
        target = number.group(0).replace(",", "")
        if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", target):
            self.problem(k.line, f"年度目標值「{k.target_text}」的數字無法辨識")
            return None
        rest = (k.target_text[:number.start()] + k.target_text[number.end():]).strip()
        bound = re.search(r"以下|以內|不超過|以上|不低於", rest)
        unit = re.sub(r"以下|以內|不超過|以上|不低於", "", rest).strip()
        if not unit:
            self.problem(k.line, f"年度目標值「{k.target_text}」沒有單位")
            return None
        if len(k.target_text) > 40 or len(unit) > 16:
            self.problem(k.line, f"年度目標值「{k.target_text}」過長")
            return None
        at_most = (bound is not None and bound.group(0) in ("以下", "以內", "不超過")) or unit in ("日", "天") \
            or _is_deviation(k.measure)
        categories: list[str] = []
        if k.categories and k.categories != "無":
            for part in re.split(r"\s*[/／、]\s*", k.categories):
                if part not in CATEGORIES:
                    self.problem(k.line, f"與中長程個案計畫關聯「{part}」不是 公共建設／科技發展／社會發展")
                    return None
                categories.append(part)
        return {
            "code": f"{k.goal_mark}-{k.no}", "goal_no": k.goal_no, "goal": k.goal, "no": k.no, "name": k.name,
            "evaluation_system": k.evaluation_system, "evaluation_method": k.evaluation_method,
            "measure": k.measure, "target_text": k.target_text, "target": target, "unit": unit,
            "direction": "at_most" if at_most else "at_least",
            "related_plan_categories": categories, "aliases": [],
        }

    # ---- part 參
    def _programmes(self, begin: int, end: int) -> list[_Programme]:
        classified = self._table_lines(begin, end, 5, [PROGRAMME_HEADER], "參")
        if not self._has_header(classified, begin, "第參部分"):
            return []
        programmes: list[_Programme] = []
        after_break = False
        headers_seen = 0
        for kind, row in classified:
            if kind == "blank":
                continue
            if kind == "header":
                headers_seen += 1
                after_break = headers_seen > 1
                continue
            work_plan, name, category, content, links = row.cells
            text = self.lines[row.line - 1].strip()[:120]
            prev = programmes[-1] if programmes else None
            continues = after_break and prev is not None and (
                not category or (prev.category not in CATEGORIES and prev.category + category in CATEGORIES))
            after_break = False
            if continues and prev is not None:
                prev.work_plan = join_cells(prev.work_plan, work_plan)
                prev.name = join_cells(prev.name, name)
                prev.category = join_cells(prev.category, category)
                prev.paragraphs = _join_paragraphs(prev.paragraphs, _paragraphs(content))
                prev.links = join_cells(prev.links, links)
                prev.lines.append(row.line)
                continue
            if not category:
                self.problem(row.line, "無法歸屬的內容：計畫類別空白，且不是換頁後的續行")
                continue
            if not name:
                self.problem(row.line, "無法歸屬的內容：重要計畫項目空白")
                continue
            if not work_plan:
                if prev is None:
                    self.problem(row.line, "工作計畫名稱空白，且上方沒有可沿用的工作計畫")
                    continue
                work_plan = prev.work_plan
            programmes.append(_Programme(row.line, text, work_plan, name, category, _paragraphs(content), links,
                                         [row.line]))
        return programmes

    def _programme_dict(self, seq: int, p: _Programme, plan_year: int, kpi_names: list[str],
                        aliases: dict[str, list[str]]) -> dict | None:
        if p.category not in CATEGORIES:
            self.problem(p.line, f"計畫類別「{p.category}」不是 公共建設／科技發展／社會發展／其它")
            return None
        phase, message = _phase_in(p.name)
        message = message or _check_years_long(p.name, phase)
        if message:
            self.problem(p.line, message)
            return None
        lines = content_lines(p.paragraphs)
        content = "\n".join(lines)
        links = self._links(p, kpi_names, aliases)
        if links is None:
            return None
        sub_plans: list[dict] = []
        steps: list[_Step] = []
        for line in lines:
            body = _strip_item_mark(line)
            sub = _SUB_PLAN.match(body)
            if sub:
                made, problem = _sub_plan(sub.group(1), sub.group(2), plan_year)
                if problem:
                    self.problem(p.line, f"{made['code']}：{problem}")
                    return None
                if any(s["code"] == made["code"] for s in sub_plans):
                    self.problem(p.line, f"子計畫「{made['code']}」重複")
                    return None
                sub_plans.append(made)
                continue
            steps.extend(dated_steps(line))
        milestones: list[dict] = []
        for step in steps:
            if step.sub_plans and sub_plans:
                for sub in sub_plans:
                    sub["milestones"].append(_milestone(step))
                    sub["first_year"] = min(sub["first_year"], step.first)
                    sub["last_year"] = max(sub["last_year"], step.last)
            elif not step.sub_plans:
                milestones.append(_milestone(step))
        if phase:
            first, last = phase.years(plan_year)
        else:
            first = min([plan_year, *(s.first for s in steps if not s.sub_plans)])
            last = max([plan_year, *(s.last for s in steps if not s.sub_plans)])
        years = [first, last, *(y for s in sub_plans for y in (s["first_year"], s["last_year"]))]
        if not all(is_roc_year(y) for y in years):
            self.problem(p.line, f"計畫年度超出範圍（民國 1 至 300 年）：{min(years)}–{max(years)}")
            return None
        name = clean_name(p.name)
        return {
            "seq": seq, "work_plan": p.work_plan, "name": name or p.name, "name_as_written": p.name,
            "category": p.category, "systems": infer_systems(name, p.work_plan, content), "kpis": links,
            "phase": {"index": phase.index, "total": phase.total} if phase else None,
            "first_year": first, "last_year": last, "content": content, "facts": {},
            "milestones": milestones, "sub_plans": sub_plans,
        }

    def _links(self, p: _Programme, kpi_names: list[str], aliases: dict[str, list[str]]) -> list[str] | None:
        if not p.links:
            return []
        pieces = [re.sub(r"\s+", "", piece) for piece in p.links.split("、")]
        folded = {fold(n): n for n in kpi_names}
        links: list[str] = []
        i = 0
        while i < len(pieces):
            taken = 1
            for j in range(len(pieces), i + 1, -1):  # a KPI name that itself holds 「、」
                if fold("、".join(pieces[i:j])) in folded:
                    taken = j - i
                    break
            link = "、".join(pieces[i:i + taken])
            i += taken
            if not link:
                continue
            if link not in aliases:
                target = folded.get(fold(link))
                if target is None:
                    near = closest(link, kpi_names, n=1)
                    if near and difflib.SequenceMatcher(None, fold(link), fold(near[0])).ratio() >= _ALIAS_RATIO:
                        target = near[0]
                if target is None:
                    self.problem(p.line, f"與 KPI 關聯「{link}」找不到對應的關鍵績效指標")
                    return None
                if link not in aliases[target]:
                    aliases[target].append(link)
            links.append(link)
        if len(links) > 2:
            self.problem(p.line, f"與 KPI 關聯有 {len(links)} 項，至多 2 項")
            return None
        return links

    def _data(self, title: str, year: int, kpis: list[_Kpi], programmes: list[_Programme]) -> dict:
        kpi_dicts = [d for d in (self._kpi_dict(k) for k in kpis) if d is not None]
        for code in {d["code"] for d in kpi_dicts}:
            if sum(d["code"] == code for d in kpi_dicts) > 1:
                line = next(k.line for k in kpis if f"{k.goal_mark}-{k.no}" == code)
                self.problem(line, f"關鍵績效指標代碼「{code}」重複")
        kpi_names = [d["name"] for d in kpi_dicts]
        aliases: dict[str, list[str]] = {n: [] for n in kpi_names}
        programme_dicts = []
        for p in programmes:
            made = self._programme_dict(len(programme_dicts) + 1, p, year, kpi_names, aliases)
            if made is not None:
                programme_dicts.append(made)
        for d in kpi_dicts:
            d["aliases"] = aliases.get(d["name"], [])
        return {
            "schema_version": 1,
            "source": {"title": title, "file": self.filename, "plan_year": year},
            "systems": [dict(s) for s in SYSTEMS],
            "kpis": kpi_dicts,
            "programmes": programme_dicts,
        }


def _is_deviation(measure: str) -> bool:
    """Whether a measure is a relative deviation: (A - B) ÷ B, the amount over an allotment."""
    text = fold(measure).replace("【", "(").replace("】", ")")
    m = re.search(r"\(([^()]*?)-([^()]*?)\)÷\(?([^()×]*?)\)?(?:\)|×|$)", text)
    return bool(m) and fold(m.group(2)) == fold(m.group(3))


def parse_plan_text(text: str, *, year_roc: int | None = None, filename: str = "") -> PlanText:
    """Read the annual plan text into a PlanText; every line that cannot be placed is a problem, never an exception."""
    if not isinstance(text, str):
        text = ""
    return _Parser(text, year_roc, filename).run()
