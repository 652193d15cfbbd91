# SPDX-License-Identifier: MIT
"""The files of the source tree that the meta checks read.

git's list when the source directory is the top of a git tree, else a walk
of the directory (an exported tree), skipping .git, the build directory and
any other meson build directory inside it. Paths are relative to the
source directory.
"""
import os
import subprocess


def tracked_files(src):
    """git ls-files of src, or None when src is not the top of a git tree."""
    try:
        out = subprocess.run(['git', '-C', src, 'ls-files', '-z'], check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        # Only trust git when src is the top of the tree it lists.
        top = subprocess.run(['git', '-C', src, 'rev-parse', '--show-toplevel'], check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        if os.path.realpath(top.decode().strip()) == os.path.realpath(src):
            return [p for p in out.decode().split('\0') if p]
    except (OSError, subprocess.CalledProcessError):
        pass
    return None


def walked_files(src, build):
    """Every file under src but .git and meson build directories."""
    paths = []
    build = os.path.realpath(build) if build else None
    for root, dirs, files in os.walk(src):
        keep = []
        for d in sorted(dirs):
            full = os.path.join(root, d)
            if d == '.git' or os.path.realpath(full) == build:
                continue
            if os.path.isdir(os.path.join(full, 'meson-private')):
                continue  # some other meson build directory
            keep.append(d)
        dirs[:] = keep
        paths += [os.path.relpath(os.path.join(root, f), src) for f in sorted(files)]
    return paths
