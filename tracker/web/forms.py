"""Forms of the account pages (WTForms with CSRF)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (DecimalField, FieldList, Form, FormField, HiddenField, PasswordField, SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, ValidationError

from tracker.domain.progress import STATUS_LABELS
from tracker.domain.roc import RocDateError, parse_date


class LoginForm(FlaskForm):
    """Name and password."""

    name = StringField("帳號", validators=[DataRequired("請輸入帳號"), Length(max=64)])
    password = PasswordField("密碼", validators=[DataRequired("請輸入密碼"), Length(max=256)])


class PasswordForm(FlaskForm):
    """The current password and a new one, twice."""

    current_password = PasswordField("目前密碼", validators=[DataRequired("請輸入目前密碼")])
    new_password = PasswordField("新密碼", validators=[DataRequired("請輸入新密碼"), Length(max=256)])
    confirm = PasswordField("再次輸入新密碼", validators=[EqualTo("new_password", "兩次輸入的新密碼不一致")])


class UploadForm(FlaskForm):
    """A budgets or month-end file."""

    file = FileField("檔案（CSV 或 XLSX）", validators=[FileRequired("請選擇檔案"),
                                                     FileAllowed(["csv", "xlsx"], "只接受 CSV 或 XLSX 檔")])


class AcknowledgeForm(FlaskForm):
    """Acknowledge an alert with what is being done about it."""

    comment = TextAreaField("處理說明", validators=[DataRequired("請填寫處理說明"), Length(max=1000)])


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
        return f"{self.data.year - 1911}/{self.data.month}/{self.data.day}" if self.data else ""


class StatusField(SelectField):
    """A milestone status chosen from the list; anything else is refused in Chinese."""

    def pre_validate(self, form) -> None:
        if self.data not in STATUS_LABELS:
            raise ValidationError(f"未知的狀態「{self.data}」，請從清單選擇")


class MilestoneRowForm(Form):
    """One milestone's line on the monthly form."""

    milestone_id = HiddenField()
    version = HiddenField()
    status = StatusField("狀態", choices=[SelectChoice(value, label) for value, label in STATUS_LABELS.items()])
    percent_complete = DecimalField("完成%", places=2, validators=[InputRequired("請輸入完成百分比"),
                                                                  NumberRange(0, 100, "須介於 0 與 100 之間")])
    actual_start = RocDateField("實際開始")
    actual_finish = RocDateField("實際完成")


class ProgressForm(FlaskForm):
    """A project's monthly progress report."""

    planned_percent = DecimalField("本月預定進度（累計%）", places=2, validators=[
        InputRequired("請輸入預定進度"), NumberRange(0, 100, "須介於 0 與 100 之間")])
    actual_percent = DecimalField("本月實際進度（累計%）", places=2, validators=[
        InputRequired("請輸入實際進度"), NumberRange(0, 100, "須介於 0 與 100 之間")])
    delay_reason = TextAreaField("落後原因", validators=[Length(max=2000)])
    remedy = TextAreaField("因應對策", validators=[Length(max=2000)])
    milestones = FieldList(FormField(MilestoneRowForm))


class ReplanForm(FlaskForm):
    """New planned dates for a milestone, and why."""

    version = HiddenField()
    planned_start = RocDateField("新的預定開始日")
    planned_finish = RocDateField("新的預定完成日")
    reason = TextAreaField("重新規劃原因", validators=[Length(max=2000)])


class CurveForm(FlaskForm):
    """A year's planned cumulative progress, month by month (empty months have no point)."""

    m1 = DecimalField("1月", places=2, validators=[Optional()])
    m2 = DecimalField("2月", places=2, validators=[Optional()])
    m3 = DecimalField("3月", places=2, validators=[Optional()])
    m4 = DecimalField("4月", places=2, validators=[Optional()])
    m5 = DecimalField("5月", places=2, validators=[Optional()])
    m6 = DecimalField("6月", places=2, validators=[Optional()])
    m7 = DecimalField("7月", places=2, validators=[Optional()])
    m8 = DecimalField("8月", places=2, validators=[Optional()])
    m9 = DecimalField("9月", places=2, validators=[Optional()])
    m10 = DecimalField("10月", places=2, validators=[Optional()])
    m11 = DecimalField("11月", places=2, validators=[Optional()])
    m12 = DecimalField("12月", places=2, validators=[Optional()])
