#!/bin/sh
# Writes classes.txt from Debian's python3-torchvision (run once; committed).
set -e
cd "$(dirname "$0")"
/usr/bin/python3 -c '
from torchvision.models._meta import _IMAGENET_CATEGORIES as c
assert len(c) == 1000
open("classes.txt", "w").write("\n".join(c) + "\n")
'
