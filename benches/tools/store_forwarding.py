#!/usr/bin/env python3
"""Store-forwarding suspects among the instructions a program ran.

A load that overlaps an earlier store without lying inside it (a 16-byte load over two 8-byte
stores, an 8-byte load over a 4-byte store at an odd offset) cannot take its value from the
store buffer and waits for the store to reach the cache: about a dozen cycles each. This
pairs, within each function callgrind saw run, every store to `[rsp+X]` with the later loads
from the stack that overlap it that way, where store and load ran about as often.

    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file=/tmp/ci \
        --toggle-collect='instr::call*' target/release/instr async 2000
    python3 benches/tools/store_forwarding.py /tmp/ci target/release/instr

Heuristic, not proof: it reads the disassembly in address order, not along the control flow
(a store on one branch and a load on another are reported together), and sees neither stores
made by a called function nor stores through other registers than `rsp`. Confirm a suspect
in the disassembly and by timing before changing code for it. Needs objdump (binutils).
"""
import re
import subprocess
import sys

if len(sys.argv) != 3:
    sys.exit(__doc__)
out, binary = sys.argv[1:3]
counts = {}; names = {}; cur=None; addr=0; incall=False; fnof={}
for line in open(out):
    line=line.rstrip('\n')
    if line.startswith('fn='):
        mm=re.match(r'fn=\((\d+)\)(?: (.*))?',line)
        if mm.group(2): names[mm.group(1)]=mm.group(2)
        cur=names.get(mm.group(1),''); continue
    mm=re.match(r'c?fn=\((\d+)\) (.*)',line)
    if mm: names[mm.group(1)]=mm.group(2)
    if line.startswith('calls='): incall=True; continue
    m=re.match(r'^(0x[0-9a-f]+|\+\d+|-\d+|\*)\s+\S+\s+(\d+)',line)
    if not m: continue
    a=m.group(1)
    if a.startswith('0x'): addr=int(a,16)
    elif a.startswith('+'): addr+=int(a[1:])
    elif a.startswith('-'): addr-=int(a[1:])
    if incall: incall=False; continue
    counts[addr]=counts.get(addr,0)+int(m.group(2)); fnof[addr]=cur
byfn={}
for a,f in fnof.items(): byfn.setdefault(f,[]).append(a)
SZ={'BYTE':1,'WORD':2,'DWORD':4,'QWORD':8,'XMMWORD':16,'YMMWORD':32}
for f,addrs in byfn.items():
    lo,hi=min(addrs),max(addrs)+16
    dis=subprocess.run(['objdump','-d','--no-show-raw-insn','-M','intel','--start-address=%#x'%lo,'--stop-address=%#x'%hi,binary],capture_output=True,text=True).stdout
    stores={}  # offset -> size  (recent stores)
    seq=[]
    for l in dis.splitlines():
        m=re.match(r'^\s*([0-9a-f]+):\s*(\S+)\s*(.*)$',l)
        if not m: continue
        a=int(m.group(1),16)
        if counts.get(a,0)==0: continue
        seq.append((a,m.group(2),m.group(3)))
    for a,op,args in seq:
        ms=re.match(r'(\w+) PTR \[rsp(?:\+0x([0-9a-f]+))?\],',args)
        ml=re.search(r',(?:(\w+) PTR )?\[rsp(?:\+0x([0-9a-f]+))?\]$',args)
        if ms and op.startswith('mov'):
            off=int(ms.group(2) or '0',16); sz=SZ.get(ms.group(1),8)
            stores[off]=(sz,counts[a])
        elif ml and (op.startswith('mov') or op in('cmp','test','add','or','and','xor')):
            off=int(ml.group(2) or '0',16)
            sz=SZ.get(ml.group(1)) if ml.group(1) else None
            if sz is None:
                r=args.split(',')[0]
                sz=8 if r.startswith('r') and not r.endswith(('d','w','b')) else 4 if r.startswith('e') or r.endswith('d') else 16 if r.startswith('xmm') else 8
            for so,(ss,sc) in stores.items():
                if sc*2 < counts[a] or counts[a]*2 < sc: continue
                if so < off+sz and off < so+ss and not (so<=off and off+sz<=so+ss):
                    print(f"{f[:70]} {a:x} {op} {args}  <- store at rsp+{so:#x} size {ss} (count {counts[a]})")
