"""The converter stand-ins now live in :mod:`core.models._onnx_steps` (the search times ONNX too);
re-exported here so existing imports keep working."""

from core.models._onnx_steps import final_types, for_conversion, register_converters

__all__ = ["final_types", "for_conversion", "register_converters"]
