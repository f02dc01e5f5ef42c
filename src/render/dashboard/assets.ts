// The dashboard's one style sheet and one script, served as files (the pages' Content-Security-Policy allows no
// inline code). The script only adds live progress and relative times: every page reads the same without it.

export const STYLE = `
:root { --fg: #1d2330; --muted: #5d6675; --line: #dfe3ea; --bg: #f6f7f9; --card: #fff; --accent: #2456d3;
  --ok: #177245; --ok-bg: #e3f4ea; --bad: #b42318; --bad-bg: #fdeceb; --warn: #8a5a00; --warn-bg: #fff4d6; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ef; --muted: #9aa3b2; --line: #2e3440; --bg: #15181e; --card: #1d2129; --accent: #7aa2ff;
    --ok: #6fdc9c; --ok-bg: #17352a; --bad: #ff8a80; --bad-bg: #3d1c1c; --warn: #f3c969; --warn-bg: #3a3015; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 1rem; align-items: center; justify-content: space-between; padding: .6rem 1rem;
  background: var(--card); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header.top a.brand { font-weight: 700; color: var(--fg); text-decoration: none; }
header.top .who { color: var(--muted); display: flex; gap: .6rem; align-items: center; }
main { max-width: 76rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.45rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 0 0 .5rem; display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
a { color: var(--accent); }
.muted { color: var(--muted); }
.cards { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 34rem), 1fr)); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem; margin-bottom: 1rem; min-width: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; white-space: nowrap; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .86rem; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: .8rem; overflow-x: auto; max-height: 34rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; background: var(--line); color: var(--fg); }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.error { background: var(--bad-bg); color: var(--bad); border-radius: 8px; padding: .6rem .8rem; overflow-wrap: anywhere; white-space: pre-line; }
.notice { background: var(--warn-bg); color: var(--warn); border-radius: 8px; padding: .6rem .8rem; }
.actions { display: flex; gap: .5rem; flex-wrap: wrap; margin-top: .8rem; align-items: center; }
.button, button { display: inline-block; font: inherit; padding: .4rem .9rem; border-radius: 8px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; text-decoration: none; cursor: pointer; }
.button.secondary, button.secondary { background: transparent; color: var(--accent); }
button.link { background: none; border: none; color: var(--accent); padding: 0; text-decoration: underline; }
input[type=text], input[type=password], select { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 8px;
  background: var(--card); color: var(--fg); min-width: 14rem; max-width: 100%; }
form.inline { display: inline; }
label { display: inline-flex; gap: .4rem; align-items: center; }
section.env td { white-space: nowrap; }
ol.events { list-style: none; padding: 0; margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .86rem; }
ol.events li { padding: .15rem 0; border-bottom: 1px dashed var(--line); display: flex; gap: .8rem; overflow-wrap: anywhere; }
ol.events .t { color: var(--muted); min-width: 3.5rem; text-align: right; }
ol.events .h { min-width: 6rem; font-weight: 600; }
ol.events li.warning { color: var(--warn); }
ol.events li.err { color: var(--bad); }
ol.events li.out { font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 40rem) { main { padding: .6rem; } th, td { padding: .3rem; } }
`;

export const SCRIPT = `
// Live progress: the run page's events arrive as server-sent events and are added as they come.
(function () {
  var list = document.querySelector('ol.events[data-stream]');
  if (!list || typeof EventSource === 'undefined') return;
  // Opened once the page has loaded: a stream opened before would keep the page loading until the run ends.
  if (document.readyState !== 'complete') { window.addEventListener('load', follow); return; }
  follow();
  function follow() {
  var source = new EventSource(list.getAttribute('data-stream'));
  function add(e) {
    var event = JSON.parse(e.data);
    if (document.getElementById('event-' + event.seq)) return;
    var li = document.createElement('li');
    li.id = 'event-' + event.seq;
    li.className = event.kind;
    [['t', event.seconds.toFixed(1) + 's'], ['h', event.host || ''], ['x', event.text]].forEach(function (cell) {
      var span = document.createElement('span');
      span.className = cell[0];
      span.textContent = cell[1];
      li.appendChild(span);
    });
    list.appendChild(li);
  }
  source.addEventListener('event', add);
  source.addEventListener('end', function (e) {
    source.close();
    var state = document.getElementById('run-state');
    var result = JSON.parse(e.data).state;
    if (state) { state.textContent = result; state.className = 'badge ' + (result === 'ok' ? 'ok' : 'bad'); }
    document.body.setAttribute('data-run-state', result);
  });
  }
})();
`;
