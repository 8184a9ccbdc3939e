#!/usr/bin/env python3
"""Cross-checks a sample of fixtures/label_selectors/kustomize.txt against the real
`kubectl kustomize` (kustomize v5.5.0): a ConfigMap labelled app=x and a
JSON6902 patch targeted with labelSelector: <selector>. For an error,
kustomize logs err="<Go %q of the error>"; for success, the patch applies iff
the selector matches label set #1 ({app: x}).

Usage: kubectl_check.py [max_cases]
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "fixtures", "label_selectors", "kustomize.txt")


def unesc(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            i += 1
            out.append({"t": "\t", "n": "\n", "r": "\r", "0": "\0"}.get(s[i], s[i]))
        else:
            out.append(c)
        i += 1
    return "".join(out)


def go_unquote_simple(q):
    # Enough for ASCII-only messages: \" and \\ (other escapes are skipped).
    return re.sub(r'\\(.)', lambda m: m.group(1), q)


def main():
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rows = []
    for line in open(CASES, encoding="utf-8", newline="").read().rstrip("\n").split("\n"):
        f = line.split("\t")
        sel = unesc(f[0])
        if len(sel) > 600 or any(ord(c) < 0x20 or ord(c) > 0x7e for c in sel):
            continue
        rows.append(f)
    rng = random.Random(7)
    sample = rows[:120] + rng.sample(rows[120:], max(0, min(limit - 120, len(rows) - 120)))
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "cm.yaml"), "w") as fh:
        fh.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    app: x\ndata:\n  k: v\n")
    bad = 0
    for f in sample:
        sel = unesc(f[0])
        with open(os.path.join(tmp, "kustomization.yaml"), "w") as fh:
            fh.write("resources:\n- cm.yaml\npatches:\n- target:\n    labelSelector: %s\n"
                     "  patch: |-\n    - op: add\n      path: /data/z\n      value: \"1\"\n"
                     % json.dumps(sel))
        p = subprocess.run(["kubectl", "kustomize", tmp], capture_output=True, text=True)
        if f[1] == "ERR":
            m = re.search(r'err="((?:[^"\\]|\\.)*)"', p.stderr)
            got = go_unquote_simple(m.group(1)) if m else "<no error: %r>" % p.stdout[-80:]
            want = unesc(f[2])
        else:
            got = "OK" if p.returncode == 0 else "<error %s>" % p.stderr.strip()[-200:]
            if p.returncode == 0:
                got += " match=%d" % ("z: \"1\"" in p.stdout)
            want = "OK match=%s" % f[3][1]
        if got != want:
            bad += 1
            print("MISMATCH %r\n  want %r\n  got  %r" % (sel, want, got))
    print("%d checked against kubectl kustomize, %d mismatches" % (len(sample), bad))


if __name__ == "__main__":
    main()
