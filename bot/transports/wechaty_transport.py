"""The WeChat transport through python-wechaty. This is the ONLY module that imports `wechaty`.

Compatibility shim: PyPI wechaty 0.10.7 (the newest) declares a dataclass field whose default is
`wechaty_puppet.schemas.puppet.PuppetOptions()`. Python 3.11's dataclasses reject unhashable (mutable) defaults, so
`import wechaty` raises ValueError unless PuppetOptions is made hashable first. We do that here, once, before the
import; nothing else in the code base may import wechaty.
"""

from __future__ import annotations

from types import ModuleType


def import_wechaty() -> ModuleType:
    from wechaty_puppet.schemas.puppet import PuppetOptions

    if PuppetOptions.__hash__ is None:
        PuppetOptions.__hash__ = object.__hash__  # type: ignore[method-assign,assignment]
    import wechaty

    return wechaty
