"""GMNet reference service: one gain-map CNN served by ONNX Runtime, tinygrad or torch.

Heavy runtimes (torch, tinygrad, onnxruntime) are imported lazily by the modules that need them,
so importing this package costs nothing. The bundled checkpoint is an untrained, deterministic
stand-in (see ``reference_service/README.md``).
"""
