"""Forms of the account pages (WTForms with CSRF)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length


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
