#!/usr/bin/env python3
"""Writes ../fixtures/label_selectors/selectors.txt and labelsets.txt.

Deterministic (fixed seed). Escaping: backslash, TAB, LF, CR and NUL are
backslash-escaped (\\\\, \\t, \\n, \\r, \\0); everything else is raw UTF-8.
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "label_selectors")


def esc(s):
    return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r").replace("\0", "\\0"))


N63 = "n" * 63
N64 = "n" * 64
V63 = "v" * 63
V64 = "v" * 64
P253 = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 chars
P254 = P253 + "e"
assert len(P253) == 253 and len(P254) == 254

HAND = [
    "", " ", "\t", "  \t\n\r ", "a", " a ", "a,b", "a ,b", "a, b", "a,", ",", ",a", "a,,b",
    "!a", "! a", "!a,!b", "!", "!!a", "!=a", "a!", "a!b", "!a=b", "!a in (b)", "!a,b=c",
    "a=b", "a==b", "a!=b", "a = b", "a =b", "a= b", "a=", "a==", "a!=", "a=,b", "a= ,b",
    "app=", "app=x y", "a=b c", "a=b,", "a=b,,", "a=b, ,c", "a=b=c", "a===b", "a!==b",
    "a=!b", "a=(b)", "a=)", "a=(", "a b", "a b c", "a in", "a in b", "a in (", "a in ()",
    "a in (,)", "a in (b)", "a in (b,)", "a in (,b)", "a in (b,,c)", "a in (b,,)",
    "a in (,,)", "a in (,,,)", "a in (b c)", "a in (b,c", "a in (b)c", "a in (b))",
    "a in ((b))", "a in (!)", "a in (=)", "a in (b,=)", "a in (in)", "a in (notin)",
    "a in (in,notin)", "a notin ()", "a notin (b)", "a notin (b,c)", "a notin b",
    "in", "notin", "in in (in)", "notin notin (notin)", "in=in", "in,notin", "!in", "!notin",
    "a in(b)", "a notin(b)", "a in  (  b  ,  c  )", "x in (foo,,baz),y,z notin ()",
    "a>1", "a<1", "a>", "a<", "a>b", "a<b", "a>-1", "a<-1", "a>+1", "a>01", "a>1.5",
    "a>9223372036854775807", "a>9223372036854775808", "a<-9223372036854775808",
    "a>>1", "a<<1", "a><1", "a>=1", "a<=1", "a gt 1", "a lt 1", "a > 1", "a< 1",
    "a>1,b<2", "a>(1)", "a in (1)>", "a>" + "1" * 64, "a>1_0",
    "example.com/x", "example.com/x=y", "example.com/", "/x", "/", "a/b/c", "a//b",
    "Example.com/x", "ex_ample.com/x", "example..com/x", ".example.com/x", "example.com./x",
    "-example.com/x", "example-.com/x", "example.com/-x", "a.b-c_d", "a.", ".a", "-a", "a-",
    "_a", "a_", "A", "A=B", "9=9", "-bad", "-bad=x", "bad-=x", "a=-bad", "a=bad-", "a=.b",
    "a=b.", "a=b_c.d-e", "a=_", "a=-", "a=.", "a=B", "a=9",
    N63, N64, N63 + "=x", N64 + "=x", "a=" + V63, "a=" + V64, "app=" + V64,
    "a in (" + V64 + ")", "a in (b," + V64 + ")", "a in (" + V64 + ",b)",
    "a notin (" + V64 + "," + V64 + "z)",
    P253 + "/x", P254 + "/x", P253 + "/" + N63, P254 + "/" + N64, P254 + "/",
    P254.upper() + "/x", ("A" * 254) + "/-",
    "é", "é=x", "a=é", "a=ü,b", "ünïcødé/x", "a in (ö)", "a=\u00a0", "a=\u200b",
    "\u00a0a", "a\u00a0", "a=\u2028", "a=\U0001F600", "a=\U000E0001", "a=\u00ad",
    "a=\x7f", "a=\x01", "a=\x1b[0m", "a\x00b", "a \x00b", "a\x00", "\x00", "a=\x00",
    "a=b\x00c", "a in (b\x00)", "\x00a", "a,\x00", "!\x00", "a=b\\c", "a=\"b\"", "\"a\"",
    "a\\b", "a=b'c", "'a'=b", "a\tin\t(b)", "a\n=\nb", "a\r\n,b", "a=b\t,c", "a\t", "\ta",
    "a=b\n", "a\x0b=b", "a\x0c", "a=\x0b",
    "a)", "a(", "(", ")", "()", "(a)", "a=b)", "a,(", "=", "==", "!=", "=a", "==a", ">", "<",
    ">1", "<1", "a=b,c!=d,e in (f),g notin (h),!i,j,k>1,l<2",
    "z,y,x,w,v,u,t,s,r,q,p,o,n,m", "b=1,a=2,b=3,a=4", "a=b,a=c", "a,a", "a in (c,b,a,b)",
    "a notin (c,b,a,,b)", "a in (b,c,)", "a in (b,,c,,)", "k in (,a,,b,)",
    "a!=b,a!=c", "!a,a", "a=1,!a",
]

TOKENS = [
    "a", "b", "app", "x", "y", "1", "2", "-1", "example.com/x", "-bad", "bad-", "in",
    "notin", "=", "==", "!=", "!", "(", ")", ",", " ", "  ", "\t", ">", "<", "x y", "é",
    N63, N64, V64, P254 + "/k", "a/b/c", "", "=(", "!!", ",,", "()", "_", ".", "A",
]
KEYS = ["a", "b", "app", "tier", "x", "in", "notin", "example.com/x", "a.b_c-d", "k", N63,
        "-bad", N64, "é", "a/b/c", "x y", P254 + "/k", "/k", "A.B"]
VALS = ["", "x", "y", "1", "5", "10", "-3", "07", "abc", "in", "notin", "v", "web", "prod",
        V63, V64, "-bad", "é", "1_0", "+4", "9223372036854775807", "9223372036854775808",
        "a b"]
SPACES = ["", "", "", " ", "  ", "\t", "\n"]


def requirement(rng):
    sp = lambda: rng.choice(SPACES)
    key = rng.choice(KEYS)
    kind = rng.randrange(7)
    if kind == 0:
        return sp() + key + sp()
    if kind == 1:
        return sp() + "!" + sp() + key + sp()
    if kind == 2:
        return sp() + key + sp() + rng.choice(["=", "==", "!="]) + sp() + rng.choice(VALS) + sp()
    if kind == 3:
        return sp() + key + sp() + rng.choice([">", "<"]) + sp() + rng.choice(VALS) + sp()
    vals = [rng.choice(VALS) for _ in range(rng.randrange(0, 4))]
    op = rng.choice(["in", "notin"])
    return sp() + key + " " + op + sp() + "(" + sp() + (sp() + "," + sp()).join(vals) + sp() + ")" + sp()


def structured(rng):
    reqs = [requirement(rng) for _ in range(rng.randrange(1, 5))]
    s = ",".join(reqs)
    # mutate sometimes
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
        pos = rng.randrange(len(s) + 1)
        m = rng.randrange(3)
        if m == 0:
            s = s[:pos] + rng.choice(TOKENS) + s[pos:]
        elif m == 1 and s:
            s = s[:pos] + s[pos + 1:]
        else:
            s = s[:pos] + rng.choice(TOKENS) + s[pos + 1:]
    return s


GOOD_KEYS = ["a", "b", "app", "tier", "x", "in", "notin", "example.com/x", "a.b_c-d", "k", N63,
             "env", "c", "m"]
GOOD_VALS = ["", "x", "y", "1", "5", "10", "-3", "0", "07", "abc", "in", "notin", "v", "web",
             "prod", V63, "9223372036854775807", "-9223372036854775808", "z", "y"]


def valid(rng):
    """A selector that Go accepts (mostly), to exercise matching."""
    reqs = []
    for _ in range(rng.randrange(1, 5)):
        key = rng.choice(GOOD_KEYS)
        kind = rng.randrange(6)
        if kind == 0:
            reqs.append(key)
        elif kind == 1:
            reqs.append("!" + key)
        elif kind == 2:
            reqs.append(key + rng.choice(["=", "==", "!="]) + rng.choice(GOOD_VALS))
        elif kind == 3:
            reqs.append(key + rng.choice([">", "<"]) + rng.choice(
                ["0", "1", "5", "9", "10", "-3", "-4", "07", "9223372036854775806"]))
        else:
            vals = [rng.choice(GOOD_VALS) for _ in range(rng.randrange(0, 4))]
            reqs.append(key + " " + rng.choice(["in", "notin"]) + " (" + ",".join(vals) + ")")
    return rng.choice([",", ", ", " ,"]).join(reqs)


def unicode_sweep():
    """Selectors whose errors quote long runs of non-ASCII code points, to
    check Go's %q (strconv.IsPrint) escaping of every one of them."""
    cps = list(range(0x80, 0xD800)) + list(range(0xE000, 0x20000))
    cps += list(range(0x20000, 0x40000, 5)) + list(range(0xE0000, 0xE0200))
    cps += list(range(0xF0000, 0xF0010)) + list(range(0x10FFF0, 0x110000))
    out = []
    for i in range(0, len(cps), 400):
        chunk = "".join(chr(c) for c in cps[i:i + 400])
        out.append("k=" + chunk if (i // 400) % 2 == 0 else chunk + "=v")
    return out


def tokensoup(rng):
    return "".join(rng.choice(TOKENS) for _ in range(rng.randrange(1, 8)))


def main():
    rng = random.Random(20241202)
    seen = set()
    out = []
    for s in HAND:
        if s not in seen:
            seen.add(s)
            out.append(s)
    # More than 12 requirements with repeated keys (Go's sort.Sort is not
    # stable beyond 12 elements; matching is unaffected).
    for n in (12, 13, 16, 25, 49, 50, 51, 60, 100, 200, 333):
        out.append(",".join("k%d=v%d" % (i % 3, i) for i in range(n)))
        out.append(",".join(("a", "b")[i % 2] + ("!=" if i % 3 else "=") + str(i) for i in range(n)))
        out.append(",".join("k%d=v%d" % ((n - i) // 7, i) for i in range(n)))
        out.append(",".join("k%02d=%d" % (rng.randrange(n // 4 + 1), i) for i in range(n)))
    out.extend(unicode_sweep())
    base = len(out)
    while len(out) < base + 800:
        r = rng.random()
        s = valid(rng) if r < 0.35 else structured(rng) if r < 0.8 else tokensoup(rng)
        if "\n" in s and rng.random() < 0.5:
            s = s.replace("\n", " ")
        if s not in seen:
            seen.add(s)
            out.append(s)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "selectors.txt"), "w", encoding="utf-8", newline="\n") as f:
        for s in out:
            f.write(esc(s) + "\n")
    labelsets = [
        [],
        [("app", "x")],
        [("app", ""), ("a", "1")],
        [("app", "y"), ("a", "5"), ("example.com/x", "v"), ("tier", "web")],
        [("a", "-3"), ("b", "abc"), ("in", "in"), ("notin", ""), ("x", "10")],
        [("a", "9223372036854775807"), ("app", "x"), ("env", "prod"), ("b", "07"), ("x y", "z")],
        [("a", "+4"), ("b", "1_0"), ("c", " 1"), ("app", "x"), ("k", "")],
        [("a", "-9223372036854775808"), ("b", "9223372036854775808"), ("k", "0"), ("x", "y"),
         (N63, "x"), ("é", "é")],
    ]
    with open(os.path.join(OUT, "labelsets.txt"), "w", encoding="utf-8", newline="\n") as f:
        for ls in labelsets:
            f.write("\t".join(esc(k) + "\t" + esc(v) for k, v in ls) + "\n")
    print(len(out), "selectors,", len(labelsets), "label sets")


if __name__ == "__main__":
    main()
