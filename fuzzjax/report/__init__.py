"""``fuzzjax report``: one self-contained HTML page about a corpus and/or a fuzz campaign.

* ``fromcorpus``: counts, charts, grammar coverage, versions and options of a corpus;
* ``fromfailures``: buckets, run summary and benign counts of a failures folder;
* ``values``: recorded inputs and values written out (nan, inf, -0.0, INT32_MIN...);
* ``summary``: the plain-text summary at the top of the page;
* ``render``: the Jinja2 page (autoescaped, inline charts, no network) and its atomic write.

Needs the ``report`` extra (Jinja2, Pygments, matplotlib): ``pip install 'fuzzjax[report]'``.
"""
