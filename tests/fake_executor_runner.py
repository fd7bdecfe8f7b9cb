"""Stand-in for ExecuTorch's executor_runner, pushed to the emulated phones in runner-mode tests.

Takes the real binary's flags (--model_path, --num_executions, --cpu_threads), runs the model
with the host's ExecuTorch runtime, and logs like the real one: ET_LOG lines on stderr, ending in
"Model executed successfully N time(s) in X ms." (the real runner prints no per-iteration lines).
"""

import argparse
import json
import sys
import time


def log(message: str) -> None:
    now = time.monotonic()
    sys.stderr.write(f"I {int(now // 3600):02d}:{int(now % 3600 // 60):02d}:{now % 60:09.6f} "
                     f"executorch:executor_runner.cpp:312] {message}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_path", required=True)
    parser.add_argument("--num_executions", type=int, default=1)
    parser.add_argument("--cpu_threads", type=int, default=-1)
    args = parser.parse_args()

    import torch
    from executorch.runtime import Runtime

    log(f"Model file {args.model_path} is loaded.")
    program = Runtime.get().load_program(args.model_path)
    method = program.load_method("forward")
    # The real runner fills inputs with ones of the method's input shape; ours reads the shape
    # from the model's embedded metadata.
    metadata = json.loads(bytes(program.load_method("metadata").execute([])[0].numpy().tobytes()))
    image = torch.ones(metadata["input"]["shape"], dtype=getattr(torch, metadata["input"]["dtype"]))
    log("Inputs prepared.")
    spent = 0.0
    for _ in range(args.num_executions):
        started = time.perf_counter()
        method.execute([image])
        spent += time.perf_counter() - started
    log(f"Model executed successfully {args.num_executions} time(s) in {spent * 1000:f} ms.")
    log("1 outputs: ")
    print("Output 0: tensor(sizes=[1, 1000], [...])")


if __name__ == "__main__":
    main()
