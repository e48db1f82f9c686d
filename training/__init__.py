"""Development-only model work for the bundled GMNet: training, held-out evaluation, pictures, INT8.

Needs the dev dependency group (torch, onnx) and is never installed with depaudit nor copied into the
service images (the wheel ships ``depaudit`` and ``reference_service`` only; ``.dockerignore`` admits
``reference_service/`` and ``docker/`` only).
"""
