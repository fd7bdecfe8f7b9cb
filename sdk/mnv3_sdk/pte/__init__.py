"""The .pte artifact: its embedded metadata contract and loading it with ExecuTorch's runtime."""
