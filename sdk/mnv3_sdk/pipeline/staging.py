"""A build writes into a hidden folder beside its destination; only a passed build is renamed into place.

So ``--out`` never holds a half-written or failed build: an interrupted or failing build leaves
nothing behind, and a build that fails its accuracy gate keeps only its reports, in
``<out>.rejected`` beside (never over) the real output.
"""

from __future__ import annotations

import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from mnv3_sdk.errors import SdkError


class StagedOutput:
    """The staging folder of one build, and the two ways out of it: publish or reject."""

    def __init__(self, folder: Path, out_dir: Path, force: bool) -> None:
        self.folder = folder
        self.out_dir = out_dir
        self.force = force

    def publish(self) -> None:
        if self.out_dir.exists():
            if not self.force:
                raise SdkError(f"output folder {self.out_dir} appeared during the build: pass --force to replace it")
            shutil.rmtree(self.out_dir)
        self.folder.rename(self.out_dir)

    def reject(self) -> Path:
        """Keep only the reports (.json, .md) in ``<out>.rejected``; returns that folder."""
        rejected = self.out_dir.with_name(self.out_dir.name + ".rejected")
        for artefact in self.folder.iterdir():
            if artefact.suffix not in (".json", ".md"):
                artefact.unlink()
        if rejected.exists():
            shutil.rmtree(rejected)
        self.folder.rename(rejected)
        return rejected


@contextmanager
def staged_output(out_dir: Path, force: bool) -> Iterator[StagedOutput]:
    """A fresh staging folder for ``out_dir``, removed on the way out unless published or rejected."""
    staged = StagedOutput(_staging_folder(out_dir), out_dir, force)
    try:
        yield staged
    finally:
        shutil.rmtree(staged.folder, ignore_errors=True)


def _staging_folder(out_dir: Path) -> Path:
    """An empty folder beside ``out_dir``, so the final rename stays on one file system.

    Made with os.mkdir rather than tempfile.mkdtemp: mkdtemp's mode 0700 would survive the rename,
    while the published folder should get the user's umask like any other folder they create.
    """
    parent = out_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            staging = parent / f".{out_dir.name}.{os.getpid()}.{secrets.token_hex(4)}"
            try:
                staging.mkdir()
                return staging
            except FileExistsError:
                continue
    except OSError as error:
        raise SdkError(f"cannot write the output folder {out_dir}: {error.strerror}") from None
    raise SdkError(f"cannot create a staging folder beside {out_dir}")
