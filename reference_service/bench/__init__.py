"""The benchmark of the GMNet reference service's image variants: `python -m reference_service.bench`
(from a clone of the repository; `depaudit bench` runs it there and only points here elsewhere).

Everything specific to that service lives here: the variants and their Dockerfiles (``gmnet``), its HTTP
API (``POST /v1/gainmap``, the ``X-Gainmap-*`` headers) and how two answers are compared (``gmnet``), the
orchestration in interleaved rounds (``run``), the report (``render``, ``report_files``) and the command
line (``cli``). The generic pieces it builds on (building images without leftovers, running a container,
measuring an image, describing the host, reading a bench report for ``gate``) stay in ``depaudit``, so
``image``, ``gate`` and the rules know nothing about GMNet. numpy and Pillow (the ``service`` dependency
group) are imported only when a bench actually runs.
"""
