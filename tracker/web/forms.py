"""Forms of the tracker's pages (WTForms with CSRF); labels and messages are lazy, translated when shown."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, MultipleFileField
from wtforms import (BooleanField, DecimalField, FieldList, Form, FormField, HiddenField, IntegerField, PasswordField,
                     SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, ValidationError

from tracker.domain.progress import STATUS_LABELS
from tracker.domain.roc import RocDateError, parse_date, to_roc_year
from tracker.web.filters import STATUS_LABELS as STATUS_NAMES


class LoginForm(FlaskForm):
    """Name and password."""

    name = StringField(_l("帳號"), validators=[DataRequired(_l("請輸入帳號")), Length(max=64)])
    password = PasswordField(_l("密碼"), validators=[DataRequired(_l("請輸入密碼")), Length(max=256)])


class PasswordForm(FlaskForm):
    """The current password and a new one, twice."""

    current_password = PasswordField(_l("目前密碼"), validators=[DataRequired(_l("請輸入目前密碼"))])
    new_password = PasswordField(_l("新密碼"), validators=[DataRequired(_l("請輸入新密碼")), Length(max=256)])
    confirm = PasswordField(_l("再次輸入新密碼"), validators=[EqualTo("new_password", _l("兩次輸入的新密碼不一致"))])


class UploadForm(FlaskForm):
    """A budgets or month-end file."""

    file = FileField(_l("檔案（CSV 或 XLSX）"), validators=[FileRequired(_l("請選擇檔案")),
                                                        FileAllowed(["csv", "xlsx"], _l("只接受 CSV 或 XLSX 檔"))])


class AcknowledgeForm(FlaskForm):
    """Acknowledge an alert with what is being done about it."""

    comment = TextAreaField(_l("處理說明"), validators=[DataRequired(_l("請填寫處理說明")), Length(max=1000)])


class RocDateField(StringField):
    """A date typed the ROC way (106/7/15, 106年7月15日) or ISO; empty means none."""

    def process_formdata(self, valuelist):
        self.data = None
        self.raw = (valuelist[0] if valuelist else "").strip()
        if self.raw:
            try:
                self.data = parse_date(self.raw)
            except RocDateError as exc:
                raise ValueError(str(exc)) from None

    def _value(self) -> str:
        if getattr(self, "raw", None) is not None and self.raw_data:
            return self.raw
        return f"{to_roc_year(self.data.year)}/{self.data.month}/{self.data.day}" if self.data else ""


class StatusField(SelectField):
    """A milestone status chosen from the list; anything else is refused in the reader's language."""

    def pre_validate(self, form) -> None:
        if self.data not in STATUS_LABELS:
            raise ValidationError(_("未知的狀態「%(value)s」，請從清單選擇", value=self.data))


class MilestoneRowForm(Form):
    """One milestone's line on the monthly form."""

    milestone_id = HiddenField()
    version = HiddenField()
    status = StatusField(_l("狀態"), choices=[SelectChoice(value, STATUS_NAMES.get(value, label))
                                            for value, label in STATUS_LABELS.items()])
    percent_complete = DecimalField(_l("完成%"), places=2, validators=[
        InputRequired(_l("請輸入完成百分比")), NumberRange(0, 100, _l("須介於 0 與 100 之間"))])
    actual_start = RocDateField(_l("實際開始"))
    actual_finish = RocDateField(_l("實際完成"))


class ProgressForm(FlaskForm):
    """A project's monthly progress report."""

    actual_percent = DecimalField(_l("本月實際進度（累計%）"), places=2, validators=[
        InputRequired(_l("請輸入實際進度")), NumberRange(0, 100, _l("須介於 0 與 100 之間"))])
    delay_reason = TextAreaField(_l("落後原因"), validators=[Length(max=2000)])
    remedy = TextAreaField(_l("因應對策"), validators=[Length(max=2000)])
    correction_reason = TextAreaField(_l("更正原因"), validators=[Length(max=2000)])
    photos = MultipleFileField(_l("施工照片及文件（JPEG、PNG、PDF）"))
    milestones = FieldList(FormField(MilestoneRowForm))


class ReportingDateForm(FlaskForm):
    """The site-wide reporting date (評核基準日), or today."""

    day = RocDateField(_l("評核基準日"))
    follow_today = BooleanField(_l("不設定，以每天的今天為準"))

    def validate_day(self, field) -> None:
        if not self.follow_today.data and field.data is None:
            raise ValidationError(_("請輸入評核基準日，或勾選以今天為準"))


class ReviewForm(FlaskForm):
    """A reviewer's decision on a month's latest revision."""

    revision = HiddenField()
    comment = TextAreaField(_l("審核意見"), validators=[Length(max=2000)])


class ReplanForm(FlaskForm):
    """New planned dates for a milestone, and why."""

    version = HiddenField()
    planned_start = RocDateField(_l("新的預定開始日"))
    planned_finish = RocDateField(_l("新的預定完成日"))
    reason = TextAreaField(_l("重新規劃原因"), validators=[Length(max=2000)])


class CurveForm(FlaskForm):
    """A year's planned cumulative progress, month by month (empty months have no point)."""

    m1 = DecimalField(_l("1月"), places=2, validators=[Optional()])
    m2 = DecimalField(_l("2月"), places=2, validators=[Optional()])
    m3 = DecimalField(_l("3月"), places=2, validators=[Optional()])
    m4 = DecimalField(_l("4月"), places=2, validators=[Optional()])
    m5 = DecimalField(_l("5月"), places=2, validators=[Optional()])
    m6 = DecimalField(_l("6月"), places=2, validators=[Optional()])
    m7 = DecimalField(_l("7月"), places=2, validators=[Optional()])
    m8 = DecimalField(_l("8月"), places=2, validators=[Optional()])
    m9 = DecimalField(_l("9月"), places=2, validators=[Optional()])
    m10 = DecimalField(_l("10月"), places=2, validators=[Optional()])
    m11 = DecimalField(_l("11月"), places=2, validators=[Optional()])
    m12 = DecimalField(_l("12月"), places=2, validators=[Optional()])
    reason = TextAreaField(_l("變更原因（變更已設定的月份時必填）"), validators=[Length(max=2000)])


class PlanUploadForm(FlaskForm):
    """A year's 施政計畫 as text, with the year it is for."""

    file = FileField(_l("計畫書文字檔（UTF-8）"), validators=[FileRequired(_l("請選擇檔案")),
                                                    FileAllowed(["txt", "md"], _l("只接受文字檔（.txt）"))])
    year = IntegerField(_l("年度（民國）"), validators=[InputRequired(_l("請填寫年度")),
                                                  NumberRange(1, 300, _l("年度須為民國年，例如 107"))])
    replace = BooleanField(_l("取代已載入的同一年度計畫"))
