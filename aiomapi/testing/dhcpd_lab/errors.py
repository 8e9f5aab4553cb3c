"""The lab's two exceptions."""

from __future__ import annotations

__all__ = ["LabError", "LabUnavailable"]


class LabError(RuntimeError):
    """The lab could not be started or changed."""


class LabUnavailable(LabError):
    """This machine cannot run the lab at all (not root, dhcpd or ip missing)."""
