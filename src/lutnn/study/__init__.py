"""Measurements behind ``lutnn measure`` and ``lutnn study``: Boolean-function measures of circuits and
trained designs, encoder metric distortion, network topology, and the study grid with its report."""

from __future__ import annotations
