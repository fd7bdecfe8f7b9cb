"""``mnv3-sdk profile``: per-operator times inside the XNNPACK delegate, named by PyTorch module."""
