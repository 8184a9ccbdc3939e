# Random template generator for differential fuzzing against the Go oracle.
# Usage: python3 fuzz.py SEED OUTDIR COUNT; then: go run . OUTDIR; copy OUTDIR/* into ../cases
# and run cargo test to list differences.
import random, os, sys
random.seed(int(sys.argv[1]))
out = sys.argv[2]
N = int(sys.argv[3])
lits = ['"a"', '"Hello World"', '""', '0', '1', '-3', '2.5', '1e6', 'true', 'false', 'nil', "'x'", '`raw`', '"a,b,c"', '"  pad "', '0x10']
fields = {
 'flux': ['.Values', '.Values.cluster', '.Values.env', '.Values.nope', '.AutomationObject', '.AutomationObject.Name', '.Changed.Changes', '.Changed.Objects', '.Changed.FileChanges', '.', '$', '.Changed'],
 'misc': ['.Str', '.Int', '.Neg', '.Float', '.Big', '.Small', '.Bool', '.Empty', '.Zero', '.List', '.Ints', '.Mixed', '.StrMap', '.IntMap', '.Nested', '.Nested.A', '.Multiline', '.Unicode', '.HTML', '.'],
 'nil': ['.', '.X', '$'],
}
funcs1 = ['upper','lower','title','trim','len','not','toString','quote','squote','first','last','rest','initial','uniq','sortAlpha','empty','toJson','b64enc','b64dec','sha256sum','base','dir','ext','clean','nospace','html','js','urlquery','print','println','list','cat','coalesce','int','add1','compact','reverse','toStrings','keys','values','dict','atoi','splitList ","','join ","','trunc 3','abbrev 5','repeat 2','indent 2','nindent 1','replace "a" "b"','contains "a"','hasPrefix "H"','hasSuffix "d"','trimAll "a"','trimPrefix "H"','trimSuffix "d"','default "dflt"','printf "%v"','printf "%s"','printf "%d"','printf "%q"','printf "%5.2f"','printf "%x"','printf "%T"','eq 1','eq "a"','ne 0','lt 1','gt "b"','and 1','or 0','add 1','sub 5','mul 2','div 7','mod 3','max 4','min 2','has "a"','append (list 1)','index (list 9 8 7)','slice (list 1 2 3)','ternary "y" "n"','split "/"','get (dict "a" 1)','hasKey (dict "a" 1)']
def expr(fx, d=0):
    r = random.random()
    if d > 2 or r < 0.35:
        return random.choice(fields[fx] + lits)
    if r < 0.8:
        f = random.choice(funcs1)
        return '(' + f + ' ' + expr(fx, d+1) + ')'
    return '(' + expr(fx, d+1) + ' | ' + random.choice(funcs1) + ')'
def action(fx, d=0):
    r = random.random()
    e = expr(fx)
    if e.startswith('(') and random.random() < 0.5: e = e[1:-1]
    if r < 0.5: return '{{ ' + e + ' }}'
    if r < 0.6: return '{{- ' + e + ' -}}'
    if d > 1: return '{{ ' + e + ' }}'
    body = ''.join(action(fx, d+1) + random.choice([' ', '\n', ',', '']) for _ in range(random.randint(1,3)))
    if r < 0.72: return '{{ if ' + e + ' }}' + body + '{{ else }}E{{ end }}'
    if r < 0.84: return '{{ with ' + e + ' }}' + body + '{{ end }}'
    if r < 0.96: return '{{ range $i, $v := ' + e + ' }}[{{ $i }}:{{ $v }}]' + body + '{{ else }}none{{ end }}'
    return '{{ $x := ' + e + ' }}{{ $x }}'
os.makedirs(out, exist_ok=True)
for i in range(N):
    fx = random.choice(['flux', 'misc', 'nil'])
    t = ''.join(action(fx) + random.choice([' ', '\n', '']) for _ in range(random.randint(1,4)))
    open(os.path.join(out, f'{fx}.fuzz{i:04d}.tmpl'), 'w').write(t)
