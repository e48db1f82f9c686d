"""`depaudit bench`: the benchmark of the bundled GMNet reference service's image variants.

Everything specific to that service lives here: the variants and their Dockerfiles (``gmnet``), its HTTP
API (``POST /v1/gainmap``, the ``X-Gainmap-*`` headers) and how two answers are compared (``gmnet``), the
orchestration in interleaved rounds (``run``) and the report (``render``). The generic pieces it builds on
(building images without leftovers, running a container, measuring an image, describing the host) stay in
``depaudit.images``, so ``image``, ``gate`` and the rules know nothing about GMNet. numpy and Pillow (the
``service`` extra) are imported only when a bench actually runs.
"""
