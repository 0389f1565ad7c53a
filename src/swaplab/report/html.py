"""Reports as one self-contained HTML file: no network, no external assets (the CSS and the
script are inline), readable offline and attachable to a mail.

Three pages share one layout: ``check_html`` (one design on one scenario), ``replay_html`` (a
saved schedule replayed) and ``matrix_html`` (the compare matrix, each cell linked to its own
counterexample).  Every counterexample comes with a step-through view: the CPU columns of the
text trace side by side, and the state (PTEs, swap_map, the swap cache, folios, locks) after
the current step, with the fields that step changed highlighted.  Prev/next buttons and the
keyboard (← →, j k, Home End) move through the steps.  The data of each view is embedded as
JSON (report/states.py builds it); the script only draws it.
"""
from __future__ import annotations

import html
import json

from ..kernel import make_program
from .states import SECTIONS, Walkthrough, walk

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:110em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}h3{font-size:1.05em}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:3px 7px}
.matrix td{text-align:center;min-width:6em}.matrix a{color:inherit}
.ok{background:#dfd}.bad{background:#fcc}.unk{background:#ffd}.miss{outline:3px solid #c00;outline-offset:-3px}
.legend{display:flex;gap:1.2em;flex-wrap:wrap;align-items:center;font-size:.9em;margin:.6em 0}
.legend span.sw{display:inline-block;width:1.1em;height:1.1em;vertical-align:middle;border:1px solid #999;margin-right:.3em}
.chg,.sw.chg{background:#ffe066!important;font-weight:600}
.absent{color:#aaa}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:12px}
.desc td,.desc th{text-align:left;vertical-align:top;font-size:.92em}
.walk{border:1px solid #99a;border-radius:6px;padding:.6em 1em;margin:1em 0;outline:none}
.walk.active{border-color:#36c;box-shadow:0 0 0 2px #36c3}
.controls{position:sticky;top:0;background:#fff;padding:.4em 0;z-index:2;display:flex;gap:.8em;align-items:center;flex-wrap:wrap}
.controls button{font-size:1em;padding:.2em .8em}
.pos{font-family:monospace;min-width:9em}
.panes{display:grid;grid-template-columns:minmax(28em,3fr) minmax(18em,2fr);gap:1.2em;align-items:start}
.cpus{font-family:monospace;font-size:12px;max-height:40em;overflow-y:auto}
.cpus table{width:100%;table-layout:fixed}.cpus th.n{width:2.5em}
.cpus td{vertical-align:top;border-color:#ddd;white-space:pre-wrap;overflow-wrap:anywhere}
.cpus tr{cursor:pointer}.cpus tr.dull{color:#999}.cpus tr.hidden{display:none}
.cpus tr.cur td.run{background:#dbe8ff;outline:2px solid #36c;outline-offset:-2px}
.cpus .fn{font-weight:600;color:#135}
.state{font-family:monospace;font-size:12px;overflow-x:auto;max-height:40em;overflow-y:auto}
.state table{margin-bottom:.8em}.state caption{text-align:left;font-weight:600;font-family:system-ui,sans-serif}
.stepinfo{font-family:monospace;font-size:12px;background:#f3f6ff;padding:.5em;margin:.5em 0;white-space:pre-wrap}
.outcome{color:#a00;font-weight:600}
"""

_JS = r"""
(function(){
const walks=[];let active=null;
function el(tag,cls,text){const e=document.createElement(tag);if(cls)e.className=cls;if(text!==undefined)e.textContent=text;return e;}
function setActive(w){if(active)active.root.classList.remove('active');active=w;w.root.classList.add('active');}
function build(root){
  const d=JSON.parse(root.querySelector('script.walkdata').textContent);
  const n=d.steps.length;
  // states[0]: before any step; states[i]: after step i-1
  const states=[d.initial];
  for(const delta of d.deltas){states.push(Object.assign({},states[states.length-1],delta));}
  const w={root:root,d:d,pos:0,n:n,states:states,rows:[],cells:{}};
  const cpus=root.querySelector('.cpus');const tb=el('table');const hr=el('tr');
  hr.appendChild(el('th','n','#'));
  d.threads.forEach((t,i)=>hr.appendChild(el('th','','CPU'+i+' ('+t+')')));
  tb.appendChild(hr);
  d.steps.forEach((s,i)=>{
    const tr=el('tr',s.i?'':'dull');tr.dataset.step=i+1;
    tr.appendChild(el('td','',String(i+1)));
    d.threads.forEach((t,j)=>{
      const td=el('td',j===s.t?'run':'');
      if(j===s.t){td.appendChild(el('span','fn',s.f?s.f+': ':''));td.appendChild(document.createTextNode(s.l));
        for(const c of s.c)td.appendChild(document.createTextNode('\n  '+c));
        for(const x of s.n)td.appendChild(document.createTextNode('\n  ('+x+')'));}
      tr.appendChild(td);});
    tr.addEventListener('click',()=>{setActive(w);go(w,i+1);});
    tb.appendChild(tr);w.rows.push(tr);});
  cpus.appendChild(tb);
  // state tables: one per section, rows and columns in order of first appearance
  const secs={};
  for(const name of Object.keys(d.layout)){const [sec,row,col]=d.layout[name];
    const s=secs[sec]||(secs[sec]={rows:[],cols:[],at:{}});
    if(!s.rows.includes(row))s.rows.push(row);if(!s.cols.includes(col))s.cols.push(col);s.at[row+'\u0000'+col]=name;}
  const state=root.querySelector('.state');
  for(const sec of d.sections){const s=secs[sec];if(!s)continue;
    const t=el('table');t.dataset.section=sec;const cap=el('caption','',sec);t.appendChild(cap);
    if(sec==='other'){cap.textContent='other objects';}
    const h=el('tr');h.appendChild(el('th'));for(const c of s.cols)h.appendChild(el('th','',c));t.appendChild(h);
    for(const r of s.rows){const tr=el('tr');tr.appendChild(el('th','',r));
      for(const c of s.cols){const name=s.at[r+'\u0000'+c];const td=el('td');
        if(name){td.dataset.name=name;w.cells[name]=td;}tr.appendChild(td);}
      t.appendChild(tr);}
    state.appendChild(t);}
  root.querySelector('.prev').addEventListener('click',()=>{setActive(w);step(w,-1);});
  root.querySelector('.next').addEventListener('click',()=>{setActive(w);step(w,1);});
  const only=root.querySelector('.onlyint');
  only.addEventListener('change',()=>{setActive(w);filter(w);});
  root.addEventListener('focusin',()=>setActive(w));
  root.addEventListener('mousedown',()=>setActive(w));
  filter(w);go(w,0);walks.push(w);return w;}
function filter(w){const only=w.root.querySelector('.onlyint').checked;
  w.rows.forEach((tr,i)=>tr.classList.toggle('hidden',only&&!w.d.steps[i].i));}
function visible(w,p){if(p===0||p===w.n)return true;
  return !w.root.querySelector('.onlyint').checked||w.d.steps[p-1].i;}
function step(w,dir){let p=w.pos+dir;while(p>0&&p<w.n&&!visible(w,p))p+=dir;go(w,Math.max(0,Math.min(w.n,p)));}
function go(w,p){w.pos=p;const d=w.d,st=w.states[p],prev=p>0?w.states[p-1]:null;
  w.root.querySelector('.pos').textContent='step '+p+' / '+w.n;
  w.root.dataset.pos=p;
  w.rows.forEach((tr,i)=>tr.classList.toggle('cur',i+1===p));
  if(p>0){const tr=w.rows[p-1],box=tr.closest('.cpus');
    const r=tr.getBoundingClientRect(),b=box.getBoundingClientRect();
    if(r.top<b.top+30||r.bottom>b.bottom)box.scrollTop+=r.top-b.top-b.height/3;}
  for(const name in w.cells){const td=w.cells[name];const v=st[name];
    td.textContent=v===undefined?'—':v;td.classList.toggle('absent',v===undefined);
    td.classList.toggle('chg',prev!==null&&prev[name]!==v);}
  const info=w.root.querySelector('.stepinfo');
  if(p===0){info.textContent='before the first step: the initial state';}
  else{const s=d.steps[p-1];info.textContent='step '+p+' on CPU'+s.t+' ('+d.threads[s.t]+'): '+(s.f?s.f+': ':'')+s.l+
    (s.c.length?'\n  '+s.c.join('\n  '):'\n  (changes nothing shown)')+(s.n.length?'\n  ('+s.n.join(')\n  (')+')':'');}
  const out=w.root.querySelector('.end');
  out.textContent=p===w.n?(d.outcome?'=> '+d.outcome:(d.divergence?'=> diverges: '+d.divergence:'=> the schedule ends with no violation')):'';}
document.addEventListener('keydown',e=>{if(!active||e.altKey||e.ctrlKey||e.metaKey)return;
  const k=e.key;
  if(k==='ArrowRight'||k==='j'){step(active,1);e.preventDefault();}
  else if(k==='ArrowLeft'||k==='k'){step(active,-1);e.preventDefault();}
  else if(k==='Home'){go(active,0);e.preventDefault();}
  else if(k==='End'){go(active,active.n);e.preventDefault();}});
document.querySelectorAll('.walk').forEach(build);
function fromHash(){const t=location.hash&&document.getElementById(location.hash.slice(1));
  const w=walks.find(x=>x.root===t);if(w)setActive(w);else if(walks.length&&!active)setActive(walks[0]);}
window.addEventListener('hashchange',fromHash);fromHash();
window.swaplabWalks=walks;
})();
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def anchor(design: str, scenario: str) -> str:
    """The id of a cell's counterexample in the page."""
    keep = lambda s: "".join(c if c.isalnum() or c in "-_" else "_" for c in s)  # noqa: E731
    return f"ce-{keep(design)}--{keep(scenario)}"


def page(title: str, body: list[str]) -> str:
    return "\n".join([
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        *body,
        f"<script>{_JS}</script></body></html>"])


def legend(matrix: bool) -> str:
    items = []
    if matrix:
        items += ["<span><span class='sw ok'></span>ok: every interleaving explored</span>",
                  "<span><span class='sw unk'></span>ok≤K / ok?: no violation within a preemption bound K, "
                  "or a budget ran out</span>",
                  "<span><span class='sw bad'></span>a violation: click it for its counterexample</span>",
                  "<span><span class='sw miss'></span>differs from the scenario's [expect]</span>"]
    items += ["<span><span class='sw chg'></span>changed by the current step</span>",
              "<span>step-through: ◀ ▶ buttons, ← → or j k, Home End; click a step to jump to it</span>",
              "<span><b>CPU</b> columns: one per model thread, as kernel commit messages draw races</span>"]
    return "<div class='legend'><b>Legend</b>" + "".join(items) + "</div>"


def design_table(designs) -> str:
    rows = "".join(f"<tr><th>{_e(d.name)}</th><td>{_e(d.summary)}</td><td>{_e(getattr(d, 'reference', ''))}</td></tr>"
                   for d in designs)
    return f"<h2>Designs</h2><table class='desc'><tr><th>design</th><th>what it is</th><th>reference</th></tr>{rows}</table>"


def scenario_table(scenarios) -> str:
    rows = []
    for s in scenarios:
        threads = "<br>".join(f"{_e(t.name)} ({_e(t.mm)}): {_e(', '.join(str(o) for o in t.ops))}"
                              for t in s.threads)
        expect = ", ".join(f"{_e(k)}={_e(v)}" for k, v in s.expect.items())
        rows.append(f"<tr><th>{_e(s.name)}</th><td>{_e(s.description)}"
                    + (f"<br><small>{_e(s.probes)}</small>" if s.probes else "")
                    + f"</td><td>{threads}</td><td><small>{expect}</small></td></tr>")
    return ("<h2>Scenarios</h2><table class='desc'><tr><th>scenario</th><th>what it does</th><th>threads</th>"
            "<th>expected</th></tr>" + "".join(rows) + "</table>")


def _walk_data(w: Walkthrough) -> dict:
    deltas = []
    before = w.initial
    for after in w.states:
        deltas.append({k: v for k, v in after.items() if before.get(k) != v})
        before = after
    return {"threads": w.threads,
            "steps": [{"t": s.tid, "f": s.function, "l": s.label, "n": s.notes, "c": s.changes, "i": s.interesting}
                      for s in w.steps],
            "initial": w.initial, "deltas": deltas,
            "layout": {k: list(v) for k, v in w.layout.items()},
            "sections": [t for t, _ in SECTIONS],
            "outcome": w.outcome, "divergence": w.divergence}


def walkthrough_html(w: Walkthrough, ident: str, title: str, text: str | None = None) -> str:
    """One counterexample's step-through view (and, folded, its text trace)."""
    data = json.dumps(_walk_data(w), separators=(",", ":")).replace("</", "<\\/")
    parts = [f"<section class='walk' id='{_e(ident)}' tabindex='0'>",
             f"<h3>{_e(title)}</h3>",
             "<div class='controls'><button class='prev' title='previous step (← or k)'>◀ prev</button>"
             "<span class='pos'></span><button class='next' title='next step (→ or j)'>next ▶</button>"
             "<label><input type='checkbox' class='onlyint' checked> only steps that change state or say "
             "something</label></div>",
             "<div class='stepinfo'></div>",
             "<div class='panes'><div class='cpus'></div><div class='state'></div></div>",
             "<div class='end outcome'></div>",
             f"<script type='application/json' class='walkdata'>{data}</script>"]
    if text:
        parts.append(f"<details><summary>text trace (as the terminal prints it)</summary><pre>{_e(text)}</pre></details>")
    parts.append("</section>")
    return "\n".join(parts)


def summary_lines(design, scenario, verdict) -> list[str]:
    """What ``swaplab check`` says about a verdict, before the trace."""
    lines = [f"design    {design.name}: {design.summary}", f"scenario  {scenario.name}: {scenario.description}",
             f"verdict   {verdict.describe()}"]
    for r in verdict.results:
        stop = "complete" if r.stats.complete else "stopped: " + (r.stats.stopped_by or "budget")
        lines.append(f"explored  {r.strategy}: {r.stats.executions} executions, {r.stats.steps} steps, {stop}"
                     + (f", {r.guarantee}" if r.guarantee else ""))
    expected = scenario.expect.get(design.name)
    if expected is not None:
        lines.append(f"expected  {expected}: {'as expected' if expected == verdict.status else 'DIFFERS'}")
    return lines


def check_html(design, scenario, verdict, text: str | None = None) -> str:
    """``swaplab check --html``: the verdict, what was explored, and the counterexample."""
    body = [f"<h1>swaplab check: {_e(design.name)} on {_e(scenario.name)}</h1>", legend(False),
            "<pre>" + _e("\n".join(summary_lines(design, scenario, verdict))) + "</pre>"]
    if verdict.violation is not None:
        w = walk(make_program(design, scenario), verdict.violation.schedule)
        body.append(walkthrough_html(w, anchor(design.name, scenario.name),
                                     f"counterexample: {verdict.status} ({verdict.violation.preemptions} "
                                     f"preemption(s), {len(w.steps)} steps)", text))
    else:
        body.append("<p>No counterexample: nothing to step through.</p>")
    body += [design_table([design]), scenario_table([scenario])]
    return page(f"swaplab check {design.name} × {scenario.name}", body)


def replay_html(design, scenario, file: str, schedule, text: str) -> str:
    """``swaplab replay --html``: the saved schedule as replayed under ``design``."""
    w = walk(make_program(design, scenario), schedule)
    body = [f"<h1>swaplab replay: {_e(file)} under {_e(design.name)} on {_e(scenario.name)}</h1>", legend(False),
            walkthrough_html(w, anchor(design.name, scenario.name),
                             f"replay of {file} ({len(schedule)} steps saved, {len(w.steps)} replayed)", text),
            design_table([design]), scenario_table([scenario])]
    return page(f"swaplab replay {file}", body)


def cell_walks(designs, scenarios, cells) -> dict:
    """(design, scenario) -> Walkthrough, for every cell of the matrix with a violation."""
    out = {}
    for d in designs:
        for s in scenarios:
            got = cells.get((d.name, s.name))
            if got is not None and got[0].violation is not None and got[0].violation.schedule is not None:
                out[(d.name, s.name)] = walk(make_program(d, s), got[0].violation.schedule)
    return out


def matrix_html(designs, scenarios, cells, notes, texts: dict | None = None) -> str:
    """``swaplab compare --html``: the matrix, each violating cell linked to its own
    counterexample below it.  ``cells``: (design, scenario) -> (Verdict, expected);
    ``texts``: (design, scenario) -> the text trace, where one was printed."""
    walks = cell_walks(designs, scenarios, cells)
    texts = texts or {}
    dn = [d.name for d in designs]
    sn = [s.name for s in scenarios]
    out = ["<h1>swaplab compare</h1>", legend(True),
           "<table class='matrix'><tr><th>design \\ scenario</th>"]
    out += [f"<th><a href='#sc-{_e(s.name)}' title='{_e(s.description)}'>{_e(s.name)}</a></th>" for s in scenarios]
    out.append("</tr>")
    for d in designs:
        out.append(f"<tr><th title='{_e(d.summary)}'>{_e(d.name)}</th>")
        for s in sn:
            if (d.name, s) not in cells:        # never run (compare was interrupted)
                out.append("<td class='unk'>-</td>")
                continue
            v, expected = cells[(d.name, s)]
            cls = "ok" if v.ok and v.complete == "complete" and not v.interrupted else \
                "unk" if v.ok or v.status == "died" else "bad"
            miss = " miss" if expected is not None and expected != v.status and v.finished else ""
            title = f"expected {expected}" if expected else "no expectation"
            verdict = _e(v.short())
            if (d.name, s) in walks:
                verdict = f"<a href='#{anchor(d.name, s)}'>{verdict}</a>"
            out.append(f"<td class='{cls}{miss}' title='{_e(title)}'>{verdict}<br><small>{v.executions}</small></td>")
        out.append("</tr>")
    out.append("</table>")
    out += [f"<p>{_e(n)}</p>" for n in notes]
    if walks:
        out.append("<h2>Counterexamples</h2>")
    for d in dn:
        for s in sn:
            if (d, s) in walks:
                w = walks[(d, s)]
                v, _ = cells[(d, s)]
                out.append(walkthrough_html(w, anchor(d, s), f"{d} on {s}: {v.status} ({v.violation.preemptions} "
                                                              f"preemption(s), {len(w.steps)} steps)",
                                            texts.get((d, s))))
    out.append(design_table(designs))
    sc = scenario_table(scenarios)
    for s in sn:   # anchors for the column headers
        sc = sc.replace(f"<tr><th>{_e(s)}</th>", f"<tr id='sc-{_e(s)}'><th>{_e(s)}</th>", 1)
    out.append(sc)
    return page("swaplab compare", out)
