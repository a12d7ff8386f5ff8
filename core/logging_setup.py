"""Logs to stderr and a rotating file under data/logs/. Secrets are SecretStr and never formatted into logs."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(data_dir: Path, level: str = "INFO", *, verbose: bool = False, to_stderr: bool = True) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_pufa", False):
            root.removeHandler(handler)
            handler.close()
    effective = logging.DEBUG if verbose else getattr(logging, level, logging.INFO)
    root.setLevel(effective)
    formatter = logging.Formatter(_FORMAT)
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / "pufa.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(formatter)
    file_handler._pufa = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    if to_stderr:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(formatter)
        stream.setLevel(effective if verbose else max(effective, logging.WARNING))
        stream._pufa = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    for noisy in ("jieba", "apscheduler", "sqlalchemy.engine", "grpclib", "asyncio"):
        logging.getLogger(noisy).setLevel(max(effective, logging.WARNING))
