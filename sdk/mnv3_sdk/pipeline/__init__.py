"""The `build` command: options, the stage-by-stage pipeline, its report, the atomic publish."""
