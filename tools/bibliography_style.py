"""Sphinx extension: the bibliography's labels keep a year's letter suffix.

Two cited papers share first author and year (Shi et al. 2016: ESPCN and "Is the
deconvolution layer the same as a convolutional layer?"). references.bib tells them apart as
2016a and 2016b, which the author-year citations in the text show as written. pybtex's alpha
labels keep only the year's last two characters ("6a"); this style keeps two digits and the
suffix ("16a"). Registered in ``_config.yml`` (``sphinx: local_extensions``) and selected there
with ``bibtex_default_style``.
"""
from __future__ import annotations

import re

from pybtex.plugin import register_plugin
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels.alpha import LabelStyle as AlphaLabelStyle

#: The name ``bibtex_default_style`` selects.
STYLE_NAME = "alpha_year_suffix"


class YearSuffixLabelStyle(AlphaLabelStyle):
    def format_label(self, entry):
        year = entry.fields.get("year", "")
        match = re.fullmatch(r"(\d+)([a-z]?)", year)
        if not match:
            return super().format_label(entry)
        label = super().format_label(entry)[: -len(year[-2:])]
        return label + match[1][-2:] + match[2]


class YearSuffixStyle(AlphaStyle):
    default_label_style = YearSuffixLabelStyle


def setup(app):
    register_plugin("pybtex.style.formatting", STYLE_NAME, YearSuffixStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
