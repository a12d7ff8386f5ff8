"""One settings class, read once in the composition root and passed down.

Every key is listed in `.env.example` with a Chinese comment. A wrong value stops start-up with one Chinese line
naming the key (see `load_settings`).
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.errors import UserError

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "dev-only-change-me", "secret", "please-change-me"}

# Chinese labels for error messages: the key a person types in .env, and what it means.
_LABELS: dict[str, str] = {
    "environment": "PUFA_ENVIRONMENT（运行环境）",
    "data_dir": "PUFA_DATA_DIR（数据目录）",
    "database_url": "DATABASE_URL（数据库地址）",
    "timezone": "PUFA_TIMEZONE（时区）",
    "bot_name": "PUFA_BOT_NAME（机器人名字）",
    "trigger_words": "PUFA_TRIGGER_WORDS（触发词）",
    "hash_secret": "PUFA_HASH_SECRET（微信号加密密钥）",
    "township": "PUFA_TOWNSHIP（乡镇名称）",
    "sifasuo_name": "PUFA_SIFASUO_NAME（司法所名称）",
    "sifasuo_phone": "PUFA_SIFASUO_PHONE（司法所电话）",
    "sifasuo_address": "PUFA_SIFASUO_ADDRESS（司法所地址）",
    "log_level": "PUFA_LOG_LEVEL（日志级别）",
    "transport": "PUFA_TRANSPORT（消息通道）",
    "wechaty_watchdog_seconds": "PUFA_WECHATY_WATCHDOG_SECONDS（微信连接看门狗秒数）",
    "welcome_enabled": "PUFA_WELCOME_ENABLED（新人入群欢迎）",
    "welcome_message": "PUFA_WELCOME_MESSAGE（欢迎语）",
    "pacing_min_seconds": "PUFA_PACING_MIN_SECONDS（最短发送间隔）",
    "pacing_max_seconds": "PUFA_PACING_MAX_SECONDS（最长发送间隔）",
    "daily_cap": "PUFA_DAILY_CAP（每日发送上限）",
    "quiet_start": "PUFA_QUIET_START（免打扰开始时间）",
    "quiet_end": "PUFA_QUIET_END（免打扰结束时间）",
    "rate_limit_pause_minutes": "PUFA_RATE_LIMIT_PAUSE_MINUTES（限流暂停分钟数）",
    "expiry_grace_hours": "PUFA_EXPIRY_GRACE_HOURS（过期宽限小时数）",
    "pufa_month": "PUFA_PUFA_MONTH（普法宣传月）",
    "wechaty_endpoint": "PUFA_WECHATY_ENDPOINT（Wechaty 网关地址）",
    "wechaty_token": "PUFA_WECHATY_TOKEN（Wechaty 网关令牌）",
    "staff_wechat_ids": "PUFA_STAFF_WECHAT_IDS（管理员微信号）",
    "account_id": "PUFA_ACCOUNT_ID（发送账号标识）",
    "web_enabled": "PUFA_WEB_ENABLED（随机器人启动网页控制台）",
    "web_host": "PUFA_WEB_HOST（网页控制台监听地址）",
    "web_port": "PUFA_WEB_PORT（网页控制台端口）",
}

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,，]", value) if part.strip()]
    return value


class Settings(BaseSettings):
    """All configuration of 普法助手. Keys are read from the environment and from `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="PUFA_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("data")
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("DATABASE_URL", "PUFA_DATABASE_URL"),
    )
    timezone: str = "Asia/Shanghai"
    bot_name: str = "普法助手"
    trigger_words: Annotated[list[str], NoDecode] = ["普法", "咨询"]
    hash_secret: SecretStr = SecretStr("dev-only-change-me")
    township: str = "青山镇"
    sifasuo_name: str = "青山镇司法所"
    sifasuo_phone: str = "0000-00000000"
    sifasuo_address: str = "镇政府便民服务中心一楼"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    transport: Literal["console", "wechaty"] = "console"
    account_id: str = "default"

    # Push pacing (see scheduler.dispatcher).
    pacing_min_seconds: float = Field(default=15, ge=0, le=3600)
    pacing_max_seconds: float = Field(default=35, ge=0, le=3600)
    daily_cap: int = Field(default=200, ge=1, le=5000)
    quiet_start: str = "21:30"
    quiet_end: str = "07:30"
    rate_limit_pause_minutes: int = Field(default=60, ge=1, le=24 * 60)
    expiry_grace_hours: float = Field(default=6, gt=0, le=24 * 7)
    pufa_month: int = Field(default=11, ge=1, le=12)

    # WeChat gateway (python-wechaty puppet service).
    wechaty_endpoint: str = "127.0.0.1:8788"
    wechaty_token: SecretStr = SecretStr("")
    staff_wechat_ids: Annotated[list[str], NoDecode] = []
    wechaty_watchdog_seconds: float = Field(default=30, ge=3, le=600)
    welcome_enabled: bool = True
    welcome_message: str = Field(default="", max_length=300)

    # Staff web console, served by `pufa run` next to the bot (and by `pufa web` on its own).
    web_enabled: bool = True
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=1, le=65535)

    @field_validator("trigger_words", "staff_wechat_ids", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        return _csv(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知时区“{value}”，例如 Asia/Shanghai") from exc
        return value

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value.strip()):
            raise ValueError(f"“{value}”不是 时:分 格式，例如 21:30")
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("只支持 sqlite:/// 或 postgresql+psycopg:// 开头的地址")
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("bot_name")
    @classmethod
    def _bot_name(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > 32:
            raise ValueError("不能为空，且不超过32个字")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        if self.pacing_min_seconds > self.pacing_max_seconds:
            raise ValueError("pacing_min_seconds: 最短发送间隔不能大于最长发送间隔")
        if self.environment == "production" and self.hash_secret.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError("hash_secret: 生产环境必须设置自己的随机密钥（可用 `openssl rand -hex 32` 生成）")
        return self

    # Derived values -------------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'pufa.db').as_posix()}"

    @property
    def quiet_hours(self) -> tuple[time, time]:
        return (time.fromisoformat(self.quiet_start), time.fromisoformat(self.quiet_end))

    @property
    def help_line(self) -> str:
        return f"{self.sifasuo_name}（电话 {self.sifasuo_phone}，{self.sifasuo_address}）或拨打12348公共法律服务热线"


def _describe(error: dict) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part != "__root__"]
    message = str(error.get("msg", "取值不正确"))
    message = message.removeprefix("Value error, ")
    key = loc[0] if loc else ""
    if not key and ":" in message:
        key, message = (part.strip() for part in message.split(":", 1))
    label = _LABELS.get(key.lower(), key.upper() or "配置")
    kind = error.get("type", "")
    if kind == "literal_error":
        allowed = error.get("ctx", {}).get("expected", "")
        message = f"只能是 {allowed}"
    elif kind in {"int_parsing", "float_parsing"}:
        message = "必须是数字"
    elif kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        ctx = error.get("ctx", {})
        bound = next(iter(ctx.values()), "")
        sign = {"greater_than_equal": "≥", "less_than_equal": "≤", "greater_than": ">", "less_than": "<"}[kind]
        message = f"必须 {sign} {bound}"
    return f"配置项 {label} 有误：{message}"


def load_settings(**overrides: object) -> Settings:
    """Read settings; turn any validation problem into one Chinese line (a UserError)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise UserError(_describe(exc.errors()[0])) from None
