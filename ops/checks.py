from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One invariant's verdict. ``checked`` is False when it could not be judged now (work in
    flight), which is not a violation."""

    name: str
    ok: bool
    detail: str = ""
    checked: bool = True
