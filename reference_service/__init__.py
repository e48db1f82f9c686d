"""GMNet reference service: one gain-map CNN served by ONNX Runtime, tinygrad or torch.

Heavy runtimes (torch, tinygrad, onnxruntime) are imported lazily by the modules that need them,
so importing this package costs nothing. The bundled checkpoint was trained on procedural SDR -> HDR
scenes (``training/``; see ``reference_service/README.md`` and ``reports/training.md``).
"""
