"""Render a report: one self-contained HTML page from the Jinja2 template ``report.html.j2``.

* Jinja2 with autoescape on: every stored string is escaped where it is written. The only
  values marked safe are fuzzjax's own CSS and script files and Pygments' highlighted HTML of
  a program (Pygments escapes the program text itself).
* No network: charts are base64 PNGs, CSS and the table-sorting script are inline. A
  Content-Security-Policy allows nothing else: no external fetches, and only the one script
  and the one style sheet whose sha256 the page names, so even a stored string that escaped
  escaping could not run as a script.
* ``write_report`` writes the page atomically (temporary file, then rename).
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from datetime import datetime, timezone
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from fuzzjax.errors import MissingDependency
from fuzzjax.report.fromcorpus import CorpusPart
from fuzzjax.report.fromfailures import FailuresPart
from fuzzjax.report.summary import plain_summary

INSTALL_HINT = "pip install 'fuzzjax[report]'"
#: What a fuzzjax report starts with (``--out`` replaces only files that start so).
GENERATOR = '<meta name="generator" content="fuzzjax report">'


def require_report_dependencies(*, charts: bool) -> None:
    """``MissingDependency`` naming the extra when Jinja2, Pygments (or matplotlib) is missing."""
    names = ["jinja2", "pygments"] + (["matplotlib"] if charts else [])
    missing = []
    for name in names:
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingDependency(f"report needs {', '.join(missing)}: {INSTALL_HINT}")


def fuzzjax_version() -> str:
    try:
        return metadata.version("fuzzjax")
    except metadata.PackageNotFoundError:
        return "unknown"


def _asset(name: str) -> str:
    return (resources.files("fuzzjax.report") / "templates" / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def highlighter() -> Any:
    """A function: Python source -> highlighted, escaped HTML (``Markup``)."""
    from markupsafe import Markup
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    lexer, formatter = PythonLexer(), HtmlFormatter(cssclass="hl")

    def python(source: str) -> Markup:
        return Markup(highlight(source, lexer, formatter))

    return python


def render_report(
    corpus: CorpusPart | None,
    failures: FailuresPart | None,
    *,
    generated: str | None = None,
) -> str:
    """The report page as text."""
    from jinja2 import Environment, PackageLoader, StrictUndefined
    from markupsafe import Markup
    from pygments.formatters import HtmlFormatter

    generated = generated or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    version = fuzzjax_version()
    env = Environment(
        loader=PackageLoader("fuzzjax.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["python"] = highlighter()
    css = _asset("report.css") + HtmlFormatter(style="default").get_style_defs(".hl")
    script = _asset("report.js")
    csp = (
        "default-src 'none'; img-src data:; base-uri 'none'; form-action 'none'; "
        f"style-src {_csp_hash(css)}; script-src {_csp_hash(script)}"
    )
    header = f"fuzzjax report, generated {generated} by fuzzjax {version}"
    page = env.get_template("report.html.j2").render(
        generator=Markup(GENERATOR),
        csp=csp,
        css=Markup(css),
        script=Markup(script),
        version=version,
        generated=generated,
        summary=plain_summary(corpus, failures, header=header),
        corpus=corpus,
        failures=failures,
    )
    return str(page)


def is_report(path: Path) -> bool:
    """Whether ``path`` is a page this module wrote (so ``--out`` may replace it)."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return GENERATOR.encode() in head


def write_report(page: str, out: Path) -> None:
    """Write ``page`` to ``out`` atomically: a temporary file beside it, then a rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(page)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a report is for reading
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
