"""Forms of the account pages (WTForms with CSRF)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
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
