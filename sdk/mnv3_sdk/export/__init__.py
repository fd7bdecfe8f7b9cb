"""From a PyTorch network to .pte bytes: input adapter, calibration, int8 quantization, XNNPACK lowering."""
